#include "collect/sched_reader.h"

#include <bpf/bpf.h>

#include <unistd.h>

#include <string>
#include <vector>

#include "collect/bpf_map_iter.h"
#include "probes/sched_probe.h"

namespace perfbpf {
namespace {

uint64_t grew(uint64_t now, uint64_t before) {
    return now >= before ? now - before : now;
}

bool thread_alive(uint32_t tgid, uint32_t tid) {
    std::string path = "/proc/" + std::to_string(tgid) + "/task/" + std::to_string(tid);
    return ::access(path.c_str(), F_OK) == 0;
}

}  // namespace

void SchedDeltas::add_thread(const sched_task_stats& now, SnapshotBuilder& builder) {
    sched_task_stats before{};
    auto it = prev_.find(now.pid);
    // A lower on-CPU total than last time means the tid was reused by a new thread.
    if (it != prev_.end() && it->second.tgid == now.tgid && it->second.oncpu_ns <= now.oncpu_ns)
        before = it->second;
    ProcessSample& p = builder.process(static_cast<int>(now.tgid));
    if (p.comm.empty() || now.pid == now.tgid)
        p.comm.assign(now.comm, strnlen(now.comm, sizeof(now.comm)));
    p.oncpu_ns += grew(now.oncpu_ns, before.oncpu_ns);
    p.runq_wait_ns += grew(now.runq_wait_ns, before.runq_wait_ns);
    p.runq_waits += grew(now.runq_waits, before.runq_waits);
    p.offcpu_ns += grew(now.offcpu_ns, before.offcpu_ns);
    p.vol_switches += grew(now.nvcsw, before.nvcsw);
    p.invol_switches += grew(now.nivcsw, before.nivcsw);
    for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i)
        p.runq_hist.add_slot(i, grew(now.runq_hist[i], before.runq_hist[i]));
    prev_[now.pid] = now;
    seen_[now.pid] = true;
}

void SchedDeltas::end_read() {
    for (auto it = prev_.begin(); it != prev_.end();) {
        if (!seen_.contains(it->first))
            it = prev_.erase(it);
        else
            ++it;
    }
    seen_.clear();
}

void SchedDeltas::add_cpu(int cpu, const sched_cpu_stats& now, uint64_t interval_ns,
                          SnapshotBuilder& builder) {
    sched_cpu_stats before{};
    if (auto it = prev_cpu_.find(cpu); it != prev_cpu_.end()) before = it->second;
    prev_cpu_[cpu] = now;
    CpuSample& c = builder.cpu(cpu);
    uint64_t busy = grew(now.busy_ns, before.busy_ns);
    c.runq_wait_ns = grew(now.runq_wait_ns, before.runq_wait_ns);
    c.runq_waits = grew(now.runq_waits, before.runq_waits);
    for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i)
        c.runq_hist.add_slot(i, grew(now.runq_hist[i], before.runq_hist[i]));
    if (interval_ns) {
        c.busy_pct = std::min(100.0, 100.0 * static_cast<double>(busy) / interval_ns);
        c.runq_avg_waiting = static_cast<double>(c.runq_wait_ns) / interval_ns;
    }
    uint64_t samples = grew(now.nr_running_samples, before.nr_running_samples);
    if (samples)
        c.nr_running_avg =
            static_cast<double>(grew(now.nr_running_sum, before.nr_running_sum)) / samples;
}

void SchedReader::collect(SnapshotBuilder& builder) {
    if (!probe_.active()) return;
    std::vector<uint32_t> finished;
    const bool sweep = ++reads_ % kSweepEveryReads == 0;
    for_each_entry<uint32_t, sched_task_stats>(
        probe_.task_stats_fd(), [&](const uint32_t& tid, const sched_task_stats& s) {
            deltas_.add_thread(s, builder);
            // The final flush at a thread's last switch-out carries EXITED; a thread
            // that vanished without one (storage unavailable) is caught by the sweep.
            if ((s.flags & PERFBPF_TASK_EXITED) || (sweep && !thread_alive(s.tgid, tid)))
                finished.push_back(tid);
        });
    deltas_.end_read();
    // Exited threads were kept for this read only.
    for (uint32_t tid : finished) {
        bpf_map_delete_elem(probe_.task_stats_fd(), &tid);
        deltas_.forget_thread(tid);
    }
    uint32_t zero = 0;
    auto cpus = per_cpu_values<sched_cpu_stats>(probe_.cpu_stats_fd(), &zero);
    for (size_t cpu = 0; cpu < cpus.size(); ++cpu)
        deltas_.add_cpu(static_cast<int>(cpu), cpus[cpu], builder.context().interval_ns, builder);
}

}  // namespace perfbpf
