// Reads the leak tracer's maps: per-stack totals every interval (the series the trend
// classifier fits), and at the end the outstanding allocations (ages, sampled-mode
// variance) and the frames of each stack. Produces an unsymbolized LeakReport.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "detect/leak_reachability.h"
#include "model/leaks.h"
#include "perfbpf/leaks.h"

namespace perfbpf {

class LeaksProbe;

// Totals of one stack summed over CPUs.
// Untracked allocations (no room in the kernel's table) are neither outstanding nor freed.
struct StackTotals {
    double allocs = 0, frees = 0;
    double est_allocs = 0, est_frees = 0;
    double est_alloc_bytes = 0, est_free_bytes = 0;
    double untracked = 0, est_untracked = 0, est_untracked_bytes = 0;
    double outstanding_bytes() const {
        return est_alloc_bytes - est_free_bytes - est_untracked_bytes;
    }
    double outstanding_allocs() const { return est_allocs - est_frees - est_untracked; }
};

// Per-stack facts from the outstanding allocations.
struct LiveSummary {
    uint64_t oldest_ts_ns = 0;
    uint64_t entries = 0;
    double variance_bytes2 = 0;  // Σ s² w (w - 1) of sampled allocations
    // Allocations at least min_age old (when a minimum age is asked for)
    double old_bytes = 0;  // estimated
    double old_allocs = 0;
};

// Pure: Σ over CPUs of one stack's per-CPU totals.
StackTotals sum_cpus(const leaks_stack_stats* per_cpu, size_t ncpus);

// Pure: adds one outstanding allocation to its stack's summary.
// Allocations newer than `young_after_ns` (0: none) count only in entries/oldest.
void add_live(LiveSummary& s, const leaks_alloc& a, uint64_t young_after_ns = 0);

class LeaksReader {
  public:
    LeaksReader(const LeaksProbe& probe, uint64_t start_ns) : probe_(probe), start_ns_(start_ns) {}

    // At an interval's end: appends each active stack's outstanding bytes to its series.
    void sample(uint64_t now_ns);
    // The report as of now (call sample(now) first).
    // min_age_ns > 0: only allocations at least that old count as outstanding.
    LeakReport report(uint64_t now_ns, const std::string& mode, bool estimated,
                      uint64_t min_age_ns = 0);
    uint32_t stacks_seen() const { return last_top_; }
    // Every outstanding allocation of the current program image (address, size, stack).
    std::vector<HeldBlock> outstanding_blocks() const;

  private:
    void for_each_live(const std::function<void(uint64_t addr, const leaks_alloc&)>& fn) const;
    std::map<uint32_t, StackTotals> read_totals();
    const LeaksProbe& probe_;
    uint64_t start_ns_;
    uint32_t last_top_ = 0;
    std::map<uint32_t, std::vector<TrendPoint>> series_;
    std::map<uint32_t, StackTotals> last_;
};

}  // namespace perfbpf
