// Turns the sched family's cumulative per-thread and per-CPU totals into interval deltas.
#pragma once

#include <map>
#include <vector>

#include "collect/parse/sched_deltas.h"
#include "collect/source.h"

namespace perfbpf {

class SchedProbe;

class SchedReader : public Source {
  public:
    explicit SchedReader(const SchedProbe& probe) : probe_(probe) {}
    std::string_view name() const override { return "sched"; }
    void collect(SnapshotBuilder& builder) override;

  private:
    static constexpr uint64_t kSweepEveryNs = 30'000'000'000ULL;
    const SchedProbe& probe_;
    SchedDeltas deltas_;
    uint64_t last_sweep_ns_ = 0;
    std::vector<uint32_t> finished_;  // reused: slots this read frees
};

}  // namespace perfbpf
