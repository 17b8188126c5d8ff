// What the daemon costs the machine: its own CPU time (user + system, from rusage) and its
// BPF programs' run time, both as a share of one CPU. The kernel's BPF run statistics cost
// a little on every program run, so they are switched on only for a short window at the
// end of each measuring period.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "util/fd.h"

namespace perfbpf {

struct CostReading {
    double own_cpu_pct = 0;  // user + system time of this process over the period
    double bpf_pct = 0;      // BPF run time over the statistics window (nullopt: no stats)
    bool bpf_measured = false;
    double total_pct() const { return own_cpu_pct + bpf_pct; }
};

class SelfCost {
  public:
    // `bpf_run_time_ns` sums the run time of our programs (Collector::bpf_run_time_ns).
    SelfCost(uint64_t period_ns, std::function<uint64_t()> bpf_run_time_ns);
    void set_period(uint64_t period_ns) { period_ns_ = period_ns; }
    // Called every interval with the monotonic time; a reading when a period ended.
    std::optional<CostReading> tick(uint64_t now_ns);

  private:
    uint64_t window_ns() const;
    uint64_t period_ns_;
    std::function<uint64_t()> bpf_run_time_ns_;
    uint64_t period_start_ns_ = 0;
    uint64_t cpu_start_ns_ = 0;
    std::optional<UniqueFd> stats_;
    uint64_t stats_start_ns_ = 0, bpf_start_ns_ = 0;
};

uint64_t own_cpu_time_ns();
// Resident memory of this process (/proc/self/statm); 0 when it cannot be read.
uint64_t own_rss_bytes();

}  // namespace perfbpf
