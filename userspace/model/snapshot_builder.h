// The Snapshot of one interval as the sources fill it: get-or-create of each object's
// sample, and what the interval is (its length, the processes that exited in it). Plain
// C++ beside the Snapshot, so the pure deltas of collect/parse/ write into it too.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/snapshot.h"

namespace perfbpf {

struct ExitedProcess {
    int exit_code = 0;
    std::string comm;
};

struct CollectContext {
    uint64_t interval_ns = 0;  // actual length of this interval
    uint64_t now_ns = 0;       // CLOCK_MONOTONIC at the end of the interval
    // Processes (thread groups) whose exit was seen in this interval. Sources read their
    // last values now and forget them afterwards.
    std::map<int, ExitedProcess> exited;
};

class SnapshotBuilder {
  public:
    explicit SnapshotBuilder(const CollectContext& ctx) : ctx_(ctx) {}
    // A copy's index would point into the original's entries.
    SnapshotBuilder(const SnapshotBuilder&) = delete;
    SnapshotBuilder& operator=(const SnapshotBuilder&) = delete;

    // Get-or-create by thread-group id.
    ProcessSample& process(int tgid);
    bool has_process(int tgid) const { return processes_.contains(tgid); }
    DeviceSample& device(uint32_t major, uint32_t minor);
    CpuSample& cpu(int cpu);
    // Get-or-create by namespace inode / cgroup path (CgroupSample::path). Cgroups made
    // here carry what their control files say; finalize_snapshot adds their processes.
    NetnsSample& netns(uint64_t inode);
    CgroupSample& cgroup(const std::string& path);
    std::map<uint64_t, NetnsSample>& netns_samples() { return netns_; }
    std::map<std::string, CgroupSample>& cgroups() { return cgroups_; }
    SystemSample& system() { return system_; }
    void add_drops(const std::string& kind, uint64_t count);
    void add_oom_kill(OomKill kill) { oom_kills_.push_back(std::move(kill)); }
    void add_probe_status(const ProbeStatus& status) { probes_.push_back(status); }
    void add_probe_statuses(const std::vector<ProbeStatus>& statuses) {
        probes_.insert(probes_.end(), statuses.begin(), statuses.end());
    }

    // Lifetime fault totals of a process that exited in this interval, as a probe read them
    // at its exit; the procfs source turns them into interval amounts with the totals it
    // last read from /proc/PID/stat.
    struct FaultTotals {
        uint64_t minor = 0;
        uint64_t major = 0;
    };
    void set_exit_fault_totals(int tgid, FaultTotals totals) { exit_faults_[tgid] = totals; }
    const FaultTotals* exit_fault_totals(int tgid) const {
        auto it = exit_faults_.find(tgid);
        return it == exit_faults_.end() ? nullptr : &it->second;
    }
    const CollectContext& context() const { return ctx_; }

    // Entries are never erased: process() finds them through an index of their addresses.
    std::map<int, ProcessSample>& processes() { return processes_; }
    std::map<uint64_t, DeviceSample>& devices() { return devices_; }
    std::vector<FilesystemSample>& filesystems() { return filesystems_; }

    // Moves everything into a Snapshot (per-cgroup sums and percentiles are filled by the
    // Collector).
    Snapshot take();

  private:
    const CollectContext& ctx_;
    std::map<int, ProcessSample> processes_;
    // tgid -> its entry in processes_ (map nodes stay put): the per-thread lookups of a
    // large interval cost a hash probe instead of a walk down the tree.
    std::unordered_map<int, ProcessSample*> process_index_;
    std::map<uint64_t, DeviceSample> devices_;
    std::map<int, CpuSample> cpus_;
    std::map<uint64_t, NetnsSample> netns_;
    std::map<std::string, CgroupSample> cgroups_;
    std::vector<FilesystemSample> filesystems_;
    SystemSample system_;
    DropCounters drops_;
    std::vector<OomKill> oom_kills_;
    std::vector<ProbeStatus> probes_;
    std::map<int, FaultTotals> exit_faults_;
};

}  // namespace perfbpf
