// Per-process facts from /proc: names, parents, cgroups, network namespaces, page faults,
// and RSS and CPU time
// when the probe families that measure them are not active. Runs after the probe readers,
// so it also names the processes they reported (including ones that exited, from what it
// remembered).
//
// Precedence, one rule per metric: a probe family that is active is the only source of its
// metric for every process; /proc/PID/stat is the source when it is not.
//  - CPU time: the sched family, else utime + stime.
//  - RSS (level, growth, peak): the mem family (it sees every RSS change, including those
//    of processes that exit within the interval), else /proc/PID/stat rss.
//  - Page faults: always /proc/PID/stat minflt/majflt deltas for running processes (the
//    kernel keeps the minor/major split there and nowhere per fault); for a process that
//    exited, the lifetime totals the mem family read at its exit (builder's
//    exit_fault_totals) minus what /proc showed at the previous scan.
//
// Which /proc/PID/stat files are read: with both families active, only those of processes
// that may have changed since the last scan (see needs_read); every one at least every
// kFullScanEveryNs and whenever a family is missing (its metric then comes from here).
// Which processes are looked at: /proc's listing at each full scan, and in between the last
// listing plus what the families reported (list_processes).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collect/parse/procfs.h"
#include "collect/source.h"
#include "util/kept_files.h"

namespace perfbpf {

class ProcSource : public Source {
  public:
    // fill_cpu: derive oncpu_ns from utime+stime (when the sched family is unavailable).
    // fill_rss: RSS from /proc/PID/stat (when the mem family is unavailable).
    ProcSource(std::string proc_root, bool fill_cpu, bool fill_rss);
    std::string_view name() const override { return "procfs"; }
    void collect(SnapshotBuilder& builder) override;
    // A family that loaded later (a retry) takes over its metric from /proc.
    void set_fills(bool fill_cpu, bool fill_rss) {
        fill_cpu_ = fill_cpu;
        fill_rss_ = fill_rss;
    }

    // A process seen by an event before it could be scanned (exec): remember its name,
    // cgroup and network namespace now, while /proc/PID still exists. Cgroups and
    // namespaces are read when a process is first seen and again at its exec (as
    // `ip netns exec` and container runtimes switch them before exec).
    void remember(int tgid, const std::string& comm);

  private:
    struct Known {
        uint64_t starttime = 0;
        std::string comm;
        ProcCgroups cgroups;
        CgroupChoice cgroup;
        uint64_t netns = 0;
        int ppid = 0;
        int threads = 0;
        uint64_t cpu_ticks = 0;
        uint64_t minflt = 0, majflt = 0;
        uint64_t rss_bytes = 0;
        bool scanned = false;  // values above come from a /proc scan
        bool kthread = false;  // PF_KTHREAD
        bool ran = false;      // the sched family saw it run in the previous interval
        uint64_t last_seen_scan = 0;
        uint64_t first_seen_scan = 0;
    };
    // The pids to look at this scan into live_: /proc's listing when `list`, else the last
    // one with the pids the families reported added and those that exited removed.
    void list_processes(SnapshotBuilder& builder, bool list);
    // Whether process `pid` (known as `k`, or null; `ran` this interval, its exit reported
    // when `exited`) must be read this scan.
    bool needs_read(const Known* k, bool ran, bool exited) const;
    // The sample of a process not read this scan: what the last read found, no growth.
    void add_unchanged(int pid, const Known& k, SnapshotBuilder& builder) const;
    std::optional<ProcCgroups> read_cgroups(int pid) const;
    // Reads the process's cgroups into `k` (left as they were when unreadable).
    void load_cgroups(int pid, Known& k) const;
    // Reads the process's cgroups again when it may have moved since: see collect().
    void refresh_cgroups(int pid, Known& k) const;
    uint64_t read_netns(int pid) const;
    // Names the process's cgroup in `builder`: path, hierarchy and its v1 paths.
    void add_cgroup(const Known& k, ProcessSample& p, SnapshotBuilder& builder) const;

    std::string root_;
    bool fill_cpu_;
    bool fill_rss_;
    long ticks_per_s_;
    long page_bytes_;
    uint64_t scan_ = 0;
    bool full_scan_ = true;  // this scan reads every process
    uint64_t last_full_ns_ = 0;
    uint64_t last_cgroup_refresh_ns_ = 0;
    bool refresh_cgroups_ = false;  // this scan re-reads every process's cgroups
    std::map<int, Known> known_;
    std::vector<int> live_;      // pids listed by this scan, ascending
    std::vector<int> vanished_;  // pids of live_ whose stat could not be read, ascending
    std::string path_;           // reused for each /proc/PID/stat path
    KeptFiles stat_files_{64};   // /proc/PID/stat of the processes that ran
};

}  // namespace perfbpf
