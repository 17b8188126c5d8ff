// Per-process facts from /proc: names, parents, cgroups, RSS, page faults, and CPU time
// when the sched probes are not active. Runs after the probe readers, so it also names the
// processes they reported (including ones that exited, from what it remembered).
#pragma once

#include <map>
#include <string>

#include "collect/source.h"

namespace perfbpf {

class ProcSource : public Source {
  public:
    // fill_cpu: derive oncpu_ns from utime+stime (when the sched family is unavailable).
    ProcSource(std::string proc_root, bool fill_cpu);
    std::string_view name() const override { return "procfs"; }
    void collect(SnapshotBuilder& builder) override;

    // A process seen by an event before it could be scanned (exec): remember its name and
    // cgroup now, while /proc/PID still exists.
    void remember(int tgid, const std::string& comm);

  private:
    struct Known {
        uint64_t starttime = 0;
        std::string comm;
        std::string cgroup;
        int ppid = 0;
        uint64_t cpu_ticks = 0;
        uint64_t minflt = 0, majflt = 0;
        uint64_t rss_bytes = 0;
        bool scanned = false;  // values above come from a /proc scan
        uint64_t last_seen_scan = 0;
    };
    std::string read_cgroup(int pid) const;

    std::string root_;
    bool fill_cpu_;
    long ticks_per_s_;
    long page_bytes_;
    uint64_t scan_ = 0;
    std::map<int, Known> known_;
};

}  // namespace perfbpf
