#include "collect/sched_reader.h"

#include <bpf/bpf.h>

#include <unistd.h>

#include <string>
#include <vector>

#include "collect/bpf_map_iter.h"
#include "probes/sched_probe.h"

namespace perfbpf {
namespace {

bool thread_alive(uint32_t tgid, uint32_t tid) {
    std::string path = "/proc/" + std::to_string(tgid) + "/task/" + std::to_string(tid);
    return ::access(path.c_str(), F_OK) == 0;
}

}  // namespace

void SchedReader::collect(SnapshotBuilder& builder) {
    if (!probe_.active()) return;
    finished_.clear();
    // The sweep stats a /proc entry per thread (1 % of the daemon's own CPU at 0.1 s when
    // it ran every 30 reads); it only frees entries the final flush missed, so its pace
    // is the clock's, not the interval's.
    const uint64_t now = builder.context().now_ns;
    const bool sweep = !last_sweep_ns_ || now - last_sweep_ns_ >= kSweepEveryNs;
    if (sweep) last_sweep_ns_ = now;
    for_each_entry<uint32_t, sched_task_stats>(
        probe_.task_stats_fd(), [&](const uint32_t& tid, const sched_task_stats& s) {
            deltas_.add_thread(s, builder);
            // The final flush at a thread's last switch-out carries EXITED; a thread
            // that vanished without one (storage unavailable) is caught by the sweep.
            if ((s.flags & PERFBPF_TASK_EXITED) || (sweep && !thread_alive(s.tgid, tid)))
                finished_.push_back(tid);
        });
    deltas_.end_read();
    // Exited threads were kept for this read only.
    for (uint32_t tid : finished_) {
        bpf_map_delete_elem(probe_.task_stats_fd(), &tid);
        deltas_.forget_thread(tid);
    }
    uint32_t zero = 0;
    auto cpus = per_cpu_values<sched_cpu_stats>(probe_.cpu_stats_fd(), &zero);
    for (size_t cpu = 0; cpu < cpus.size(); ++cpu)
        deltas_.add_cpu(static_cast<int>(cpu), cpus[cpu], builder.context().interval_ns, builder);
}

}  // namespace perfbpf
