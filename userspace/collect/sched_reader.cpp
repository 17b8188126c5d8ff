#include "collect/sched_reader.h"

#include <bpf/bpf.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "collect/bpf_map_iter.h"
#include "collect/parse/sched_slots.h"
#include "collect/thread_ids.h"
#include "probes/sched_probe.h"

namespace perfbpf {
namespace {

bool thread_alive(uint32_t tgid, uint32_t tid) {
    std::string path = "/proc/" + std::to_string(tgid) + "/task/" + std::to_string(tid);
    return ::access(path.c_str(), F_OK) == 0;
}

// The sweep's view of which threads exist: each process's task directory is listed once,
// where a path lookup per thread cost a 1,000-thread process 1,000 lookups (≈4 µs each
// here, 2 % of the daemon's own CPU at 1 s). A thread the listing lacks is looked up by
// path before it counts as gone: it may have started after its process was listed.
class LiveThreads {
  public:
    bool alive(uint32_t tgid, uint32_t tid) {
        auto [it, fresh] = tasks_.try_emplace(tgid);
        if (fresh)
            it->second = thread_ids("/proc", static_cast<int>(tgid)).value_or(std::vector<int>{});
        return std::ranges::binary_search(it->second, static_cast<int>(tid)) ||
               thread_alive(tgid, tid);
    }

  private:
    std::unordered_map<uint32_t, std::vector<int>> tasks_;
};

// Words [from, to) of a slot the BPF side may be writing, each an atomic load, so every
// field holds a value the program wrote (fields may come from two switch-outs; the counters
// are cumulative, so a read that straddles one shifts a little into the next interval).
void copy_words(const sched_thread_slot& live, sched_thread_slot& out, size_t from, size_t to) {
    static_assert(sizeof(sched_thread_slot) % sizeof(uint64_t) == 0);
    const auto* src = reinterpret_cast<const uint64_t*>(&live);
    auto* dst = reinterpret_cast<uint64_t*>(&out);
    for (size_t i = from; i < to; ++i) dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

constexpr size_t kSlotWords = sizeof(sched_thread_slot) / sizeof(uint64_t);
static_assert(SchedDeltas::kHeadWords * sizeof(uint64_t) == 64, "the head is line 0");

}  // namespace

void SchedReader::collect(SnapshotBuilder& builder) {
    if (!probe_.active()) return;
    const SlotTable& table = probe_.threads();
    const auto slots = table.slots<sched_thread_slot>();
    if (slots.empty()) return;
    finished_.clear();
    // The sweep stats a /proc entry per thread (1 % of the daemon's own CPU at 0.1 s when
    // it ran every 30 reads); it only frees slots whose final switch-out was missed, so
    // its pace is the clock's, not the interval's.
    const uint64_t now = builder.context().now_ns;
    const bool sweep = !last_sweep_ns_ || now - last_sweep_ns_ >= kSweepEveryNs;
    if (sweep) last_sweep_ns_ = now;
    LiveThreads live;
    table.for_each_claimed([&](uint32_t idx) {
        // Line 0 first: a thread that has not switched out since the last read left it as
        // it was, and its other four lines are not worth a cache miss each.
        sched_thread_slot slot;
        copy_words(slots[idx], slot, 0, SchedDeltas::kHeadWords);
        const SchedDeltas::Head head(reinterpret_cast<const uint64_t*>(&slot),
                                     SchedDeltas::kHeadWords);
        if (const sched_task_stats* last = deltas_.unchanged(idx, head)) {
            if (sweep && !live.alive(last->tgid, last->pid)) finished_.push_back(idx);
            return;
        }
        copy_words(slots[idx], slot, SchedDeltas::kHeadWords, kSlotWords);
        // The batch of waits not yet in the histogram, read again after the histogram:
        // the program clears it before adding it there, so this counts it once at most
        // (sched.h: pending_hist).
        std::atomic_thread_fence(std::memory_order_acquire);
        slot.pending_hist = __atomic_load_n(&slots[idx].pending_hist, __ATOMIC_RELAXED);
        sched_task_stats s;
        if (!decode_thread_slot(slot, s)) return;
        deltas_.add_thread(idx, s, builder, head);
        // The final switch-out marks the slot dead; a thread that vanished without one
        // (its id changed at an exec from a non-leader thread) is caught by the sweep.
        if (thread_slot_dead(slot) || (sweep && !live.alive(s.tgid, s.pid)))
            finished_.push_back(idx);
    });
    deltas_.end_read();
    // Exited threads were kept for this read only.
    for (uint32_t idx : finished_) {
        table.release(idx);
        deltas_.forget_thread(idx);
    }
    uint32_t zero = 0;
    auto cpus = per_cpu_values<sched_cpu_stats>(probe_.cpu_stats_fd(), &zero);
    for (size_t cpu = 0; cpu < cpus.size(); ++cpu)
        deltas_.add_cpu(static_cast<int>(cpu), cpus[cpu], builder.context().interval_ns, builder);
}

}  // namespace perfbpf
