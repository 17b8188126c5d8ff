// Interval deltas of the sched family's cumulative totals. Pure (no map access), so unit
// tests feed it recorded values.
#pragma once

#include <array>
#include <map>
#include <span>
#include <unordered_map>

#include "model/snapshot_builder.h"
#include "perfbpf/sched.h"

namespace perfbpf {

class SchedDeltas {
  public:
    // Adds the growth of one thread since the previous read into the builder's process.
    // `key` names where the record came from (the thread's slot): a key whose record now
    // has another thread id or start time holds a new thread, counted from zero.
    void add_thread(uint32_t key, const sched_task_stats& now, SnapshotBuilder& builder);
    // The first line of the slot a record came from.
    static constexpr size_t kHeadWords = 8;
    using Head = std::span<const uint64_t, kHeadWords>;
    // The same, keeping the slot's first line for unchanged() at the next read.
    void add_thread(uint32_t key, const sched_task_stats& now, SnapshotBuilder& builder, Head head);
    // A key whose slot's first line is what it was at the last read has not changed since
    // (the BPF side writes its other lines before the first): it is kept as seen in this
    // read, with nothing to add. Returns its last record then, else nullptr.
    const sched_task_stats* unchanged(uint32_t key, Head head);
    // Forgets keys that were not seen in this read (their slot was freed).
    void end_read();
    void forget_thread(uint32_t key) { prev_.erase(key); }
    void add_cpu(int cpu, const sched_cpu_stats& now, uint64_t interval_ns,
                 SnapshotBuilder& builder);

  private:
    // One entry per thread, touched once per read: a hash with the read that last saw it
    // (not a second set of seen tids), so a read of N threads costs N lookups
    // (bench/pipeline_bench, 10 000 threads: 4 M records/s with two ordered maps, 9 M now).
    struct Prev {
        sched_task_stats stats;
        uint64_t seen_read = 0;
        std::array<uint64_t, kHeadWords> head{};
        bool has_head = false;
    };
    std::unordered_map<uint32_t, Prev> prev_;
    // add_thread's work; returns the key's entry.
    Prev& record(uint32_t key, const sched_task_stats& now, SnapshotBuilder& builder);
    uint64_t read_ = 1;
    std::map<int, sched_cpu_stats> prev_cpu_;
};

}  // namespace perfbpf
