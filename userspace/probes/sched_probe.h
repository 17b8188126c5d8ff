// Loader of bpf/sched.bpf.c: run-queue latency, on/off-CPU time and switches.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "perfbpf/sched.h"
#include "probes/bpf_object.h"
#include "probes/probe_family.h"
#include "probes/slot_table.h"

struct sched_bpf;

namespace perfbpf {

// log2 of the thread slots for a machine running `threads` threads now: room for four
// times as many (linear probing stays short below a quarter full), within sched.h's bounds.
uint32_t thread_slot_bits(uint64_t threads);
// The switch program for a table of 2^slot_bits slots (one per size: sched.bpf.c).
std::string sched_switch_program(uint32_t slot_bits);

class SchedProbe : public ProbeFamily {
  public:
    // Never fails as a whole: what could not load or attach is in status().
    static std::unique_ptr<SchedProbe> load(const SharedMaps& shared, const ProbeOptions& opts);
    ~SchedProbe() override;

    std::string_view name() const override { return "sched"; }
    const std::vector<ProbeStatus>& status() const override { return table_.status(); }
    bool active() const override { return !links_.empty(); }
    std::map<std::string, uint64_t> run_counts() const override { return table_.run_counts(); }
    uint64_t run_time_ns() const override { return table_.run_time_ns(); }

    // Per-thread slots of sched_thread_slot (see perfbpf/sched.h).
    const SlotTable& threads() const { return threads_; }
    int cpu_stats_fd() const;  // per-CPU array[1] of sched_cpu_stats
    std::string load_error() const { return load_error_; }

  private:
    SchedProbe() : table_("sched") {}
    ProgramTable table_;
    Skeleton<sched_bpf> skel_;
    std::vector<LinkPtr> links_;
    PerfEventLinks samples_;
    SlotTable threads_;
    std::string load_error_;
};

}  // namespace perfbpf
