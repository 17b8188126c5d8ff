// Turns the sched family's cumulative per-thread and per-CPU totals into interval deltas.
#pragma once

#include <map>

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
    static constexpr uint64_t kSweepEveryReads = 30;
    const SchedProbe& probe_;
    SchedDeltas deltas_;
    uint64_t reads_ = 0;
};

}  // namespace perfbpf
