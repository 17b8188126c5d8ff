// The shared per-CPU drop counters, as deltas per kind ("ring_full", "task_map_full", ...).
#pragma once

#include <array>

#include "collect/source.h"
#include "perfbpf/common.h"

namespace perfbpf {

// Stable name of a drop kind, used in JSON and on screen.
const char* drop_kind_name(uint32_t kind);

class DropsReader : public Source {
  public:
    explicit DropsReader(int drops_fd) : fd_(drops_fd) {}
    std::string_view name() const override { return "drops"; }
    void collect(SnapshotBuilder& builder) override;

  private:
    int fd_;
    std::array<uint64_t, PERFBPF_DROP_KIND_MAX> prev_{};
};

}  // namespace perfbpf
