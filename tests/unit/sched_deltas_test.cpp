#include "collect/parse/sched_deltas.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

namespace perfbpf {
namespace {

sched_task_stats thread(uint32_t tid, uint32_t tgid, uint64_t oncpu, uint64_t waits) {
    sched_task_stats s{};
    s.pid = tid;
    s.tgid = tgid;
    s.oncpu_ns = oncpu;
    s.runq_wait_ns = waits * 1000;
    s.runq_waits = waits;
    s.nivcsw = waits;
    s.runq_hist[3] = static_cast<uint32_t>(waits);
    std::strcpy(s.comm, tid == tgid ? "main" : "worker");
    return s;
}

// Keyed by thread id, as a slot holds one thread at a time.
void add(SchedDeltas& d, const sched_task_stats& s, SnapshotBuilder& b) {
    d.add_thread(s.pid, s, b);
}

TEST(SchedDeltas, ThreadsSumIntoTheirProcess) {
    CollectContext ctx;
    ctx.interval_ns = 1'000'000'000;
    SchedDeltas d;
    {
        SnapshotBuilder b(ctx);
        add(d, thread(10, 10, 100, 1), b);
        add(d, thread(11, 10, 200, 2), b);
        d.end_read();
    }
    SnapshotBuilder b(ctx);
    add(d, thread(10, 10, 150, 3), b);
    add(d, thread(11, 10, 260, 2), b);
    d.end_read();
    ProcessSample& p = b.process(10);
    EXPECT_EQ(p.oncpu_ns, 50u + 60u);
    EXPECT_EQ(p.runq_waits, 2u);
    EXPECT_EQ(p.invol_switches, 2u);
    EXPECT_EQ(p.runq_hist.slot(3), 2u);
    EXPECT_EQ(p.comm, "main");  // the leader names the process
}

TEST(SchedDeltas, ReusedTidCountsFromZero) {
    CollectContext ctx;
    SchedDeltas d;
    {
        SnapshotBuilder b(ctx);
        add(d, thread(20, 20, 5000, 5), b);
        d.end_read();
    }
    SnapshotBuilder b(ctx);
    add(d, thread(20, 21, 300, 1), b);  // a new process got tid 20
    d.end_read();
    EXPECT_EQ(b.process(21).oncpu_ns, 300u);
}

// A thread id reused within the same process, whose new thread already ran longer than
// the old one had when last read: its start time tells them apart.
TEST(SchedDeltas, ReusedTidInTheSameProcessCountsFromZero) {
    CollectContext ctx;
    SchedDeltas d;
    {
        SnapshotBuilder b(ctx);
        sched_task_stats old = thread(22, 20, 100, 1);
        old.start_ns = 1000;
        add(d, old, b);
        d.end_read();
    }
    SnapshotBuilder b(ctx);
    sched_task_stats young = thread(22, 20, 400, 2);
    young.start_ns = 2000;
    add(d, young, b);
    d.end_read();
    EXPECT_EQ(b.process(20).oncpu_ns, 400u);
    EXPECT_EQ(b.process(20).runq_waits, 2u);
}

// The slot of an exited thread and the slot of a new thread given its id are read
// together: two keys, each counted on its own.
TEST(SchedDeltas, ExitedThreadAndItsSuccessorInOneRead) {
    CollectContext ctx;
    SchedDeltas d;
    sched_task_stats old = thread(25, 25, 100, 1);
    old.start_ns = 1000;
    {
        SnapshotBuilder b(ctx);
        d.add_thread(7, old, b);
        d.end_read();
    }
    SnapshotBuilder b(ctx);
    old.oncpu_ns = 150;  // its final switch-out
    sched_task_stats young = thread(25, 25, 30, 0);
    young.start_ns = 2000;
    d.add_thread(7, old, b);
    d.add_thread(8, young, b);
    d.end_read();
    EXPECT_EQ(b.process(25).oncpu_ns, 50u + 30u);
}

TEST(SchedDeltas, ForgottenThreadIsNewAgain) {
    CollectContext ctx;
    SchedDeltas d;
    {
        SnapshotBuilder b(ctx);
        add(d, thread(30, 30, 100, 1), b);
        d.end_read();
    }
    {
        SnapshotBuilder b(ctx);  // thread 30 absent from this read
        d.end_read();
    }
    SnapshotBuilder b(ctx);
    add(d, thread(30, 30, 120, 1), b);
    EXPECT_EQ(b.process(30).oncpu_ns, 120u);
}

// A record the family did not copy again since the last read (the thread did not run)
// adds nothing, and is still remembered: its next change counts from it.
TEST(SchedDeltas, UnchangedRecordAddsNothingAndStaysKnown) {
    CollectContext ctx;
    SchedDeltas d;
    for (int read = 0; read < 3; ++read) {
        SnapshotBuilder b(ctx);
        add(d, thread(40, 40, 100, 1), b);
        add(d, thread(41, 40, read == 0 ? 50 : 70, 1), b);
        d.end_read();
        if (read == 2) {
            EXPECT_EQ(b.process(40).oncpu_ns, 0u);
        }
    }
    SnapshotBuilder b(ctx);
    add(d, thread(40, 40, 130, 2), b);
    d.end_read();
    EXPECT_EQ(b.process(40).oncpu_ns, 30u);
    EXPECT_EQ(b.process(40).runq_waits, 1u);
}

// A slot whose first line is as it was at the last read is skipped whole and stays known;
// once the line changes, the next record counts from the one before the skipped reads.
TEST(SchedDeltas, UnchangedHeadKeepsTheThreadWithoutItsRecord) {
    CollectContext ctx;
    SchedDeltas d;
    std::array<uint64_t, SchedDeltas::kHeadWords> head{};
    head[0] = 50;
    head[1] = 100;
    {
        SnapshotBuilder b(ctx);
        EXPECT_EQ(d.unchanged(5, head), nullptr) << "a key never read";
        d.add_thread(5, thread(50, 50, 100, 1), b, head);
        d.end_read();
    }
    for (int read = 0; read < 3; ++read) {
        SnapshotBuilder b(ctx);
        const sched_task_stats* last = d.unchanged(5, head);
        ASSERT_NE(last, nullptr);
        EXPECT_EQ(last->pid, 50u);
        EXPECT_FALSE(b.has_process(50));
        d.end_read();
    }
    head[1] = 130;
    SnapshotBuilder b(ctx);
    EXPECT_EQ(d.unchanged(5, head), nullptr);
    d.add_thread(5, thread(50, 50, 130, 2), b, head);
    d.end_read();
    EXPECT_EQ(b.process(50).oncpu_ns, 30u);
    EXPECT_EQ(b.process(50).runq_waits, 1u);
    // A record added without its head is never taken as unchanged.
    SnapshotBuilder b2(ctx);
    d.add_thread(6, thread(60, 60, 10, 1), b2);
    d.end_read();
    EXPECT_EQ(d.unchanged(6, head), nullptr);
}

TEST(SchedDeltas, CpuRatesFromDeltas) {
    CollectContext ctx;
    ctx.interval_ns = 1'000'000'000;
    SchedDeltas d;
    sched_cpu_stats a{}, b{};
    a.busy_ns = 1'000'000'000;
    a.runq_wait_ns = 0;
    b.busy_ns = 1'500'000'000;
    b.runq_wait_ns = 2'000'000'000;
    b.runq_waits = 10;
    b.nr_running_sum = 30;
    b.nr_running_samples = 10;
    {
        SnapshotBuilder sb(ctx);
        d.add_cpu(0, a, ctx.interval_ns, sb);
    }
    SnapshotBuilder sb(ctx);
    d.add_cpu(0, b, ctx.interval_ns, sb);
    Snapshot s = sb.take();
    ASSERT_EQ(s.cpus.size(), 1u);
    EXPECT_DOUBLE_EQ(s.cpus[0].busy_pct, 50.0);
    EXPECT_DOUBLE_EQ(s.cpus[0].runq_avg_waiting, 2.0);
    EXPECT_DOUBLE_EQ(s.cpus[0].nr_running_avg, 3.0);
}

}  // namespace
}  // namespace perfbpf
