// Interval deltas of the sched family's cumulative totals. Pure (no map access), so unit
// tests feed it recorded values.
#pragma once

#include <map>

#include "collect/source.h"
#include "perfbpf/sched.h"

namespace perfbpf {

class SchedDeltas {
  public:
    // Adds the growth of one thread since the previous read into the builder's process.
    void add_thread(const sched_task_stats& now, SnapshotBuilder& builder);
    // Forgets threads that were not seen in this read (their entry was removed).
    void end_read();
    void forget_thread(uint32_t tid) { prev_.erase(tid); }
    void add_cpu(int cpu, const sched_cpu_stats& now, uint64_t interval_ns,
                 SnapshotBuilder& builder);

  private:
    std::map<uint32_t, sched_task_stats> prev_;
    std::map<uint32_t, bool> seen_;
    std::map<int, sched_cpu_stats> prev_cpu_;
};

}  // namespace perfbpf
