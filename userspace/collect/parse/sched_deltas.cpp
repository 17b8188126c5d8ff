#include "collect/parse/sched_deltas.h"

#include <algorithm>
#include <cstring>

namespace perfbpf {
namespace {

// Cumulative counters only grow; a smaller value means a new owner of the key.
uint64_t grew(uint64_t now, uint64_t before) {
    return now >= before ? now - before : now;
}

}  // namespace

SchedDeltas::Prev& SchedDeltas::record(uint32_t key, const sched_task_stats& now,
                                       SnapshotBuilder& builder) {
    static const sched_task_stats kNone{};
    auto [it, is_new] = prev_.try_emplace(key);
    it->second.seen_read = read_;
    // The family copies a thread's totals to its map only when the thread ran (at most once
    // per flush period), so most records of an idle host are the copy read last time: every
    // delta would be 0. Skipped whole, they cost no process lookup and no histogram pass.
    if (!is_new && std::memcmp(&it->second.stats, &now, sizeof now) == 0) return it->second;
    // Another thread in the key, or a lower on-CPU total than last time: a new thread.
    const sched_task_stats& last = it->second.stats;
    // A reference, not a copy: the record is large and this runs once per thread.
    const sched_task_stats& before = !is_new && last.pid == now.pid && last.tgid == now.tgid &&
                                             last.start_ns == now.start_ns &&
                                             last.oncpu_ns <= now.oncpu_ns
                                         ? last
                                         : kNone;
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
    it->second.stats = now;  // after the last use of `before`, which may be this entry
    return it->second;
}

void SchedDeltas::add_thread(uint32_t key, const sched_task_stats& now, SnapshotBuilder& builder) {
    record(key, now, builder).has_head = false;
}

void SchedDeltas::add_thread(uint32_t key, const sched_task_stats& now, SnapshotBuilder& builder,
                             Head head) {
    Prev& p = record(key, now, builder);
    std::copy(head.begin(), head.end(), p.head.begin());
    p.has_head = true;
}

const sched_task_stats* SchedDeltas::unchanged(uint32_t key, Head head) {
    auto it = prev_.find(key);
    if (it == prev_.end() || !it->second.has_head ||
        !std::equal(head.begin(), head.end(), it->second.head.begin()))
        return nullptr;
    it->second.seen_read = read_;
    return &it->second.stats;
}

void SchedDeltas::end_read() {
    std::erase_if(prev_, [&](const auto& entry) { return entry.second.seen_read != read_; });
    ++read_;
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

}  // namespace perfbpf
