#include "collect/parse/sched_slots.h"

#include <gtest/gtest.h>

#include <cstring>

#include "probes/sched_probe.h"

namespace perfbpf {
namespace {

// A thread first seen at 1 s of CPU and 200 ms of waits, then 3 switch-outs later.
sched_thread_slot counted_slot() {
    sched_thread_slot s{};
    s.tag = 77;
    s.seen = 1;
    s.pid = 77;
    s.tgid = 70;
    s.start_ns = 5;
    s.base_oncpu_ns = 1'000'000'000;
    s.base_run_delay_ns = 200'000'000;
    s.base_pcount = 40;
    s.base_nvcsw = 30;
    s.base_nivcsw = 10;
    s.oncpu_ns = s.base_oncpu_ns + 3'000'000;
    s.run_delay_ns = s.base_run_delay_ns + 90'000;
    s.pcount = s.base_pcount + 3;
    s.nvcsw = 32;
    s.nivcsw = 11;
    s.offcpu_ns = 12'345;
    s.runq_hist[6] = 3;
    std::strcpy(s.comm, "worker");
    return s;
}

TEST(SchedSlots, TotalsCountFromTheThreadsBase) {
    sched_task_stats t{};
    ASSERT_TRUE(decode_thread_slot(counted_slot(), t));
    EXPECT_EQ(t.pid, 77u);
    EXPECT_EQ(t.tgid, 70u);
    EXPECT_EQ(t.start_ns, 5u);
    EXPECT_EQ(t.oncpu_ns, 3'000'000u);
    EXPECT_EQ(t.runq_wait_ns, 90'000u);
    EXPECT_EQ(t.runq_waits, 3u);
    EXPECT_EQ(t.nvcsw, 2u);
    EXPECT_EQ(t.nivcsw, 1u);
    EXPECT_EQ(t.offcpu_ns, 12'345u);
    EXPECT_EQ(t.runq_hist[6], 3u);
    EXPECT_STREQ(t.comm, "worker");
    EXPECT_FALSE(thread_slot_dead(counted_slot()));
}

// Waits batched in line 0 (pending_hist: count << 8 | slot) count in their slot.
TEST(SchedSlots, PendingWaitsCountInTheirHistogramSlot) {
    sched_thread_slot s = counted_slot();
    s.pending_hist = (4ULL << 8) | 6;
    sched_task_stats t{};
    ASSERT_TRUE(decode_thread_slot(s, t));
    EXPECT_EQ(t.runq_hist[6], 3u + 4u);
    s.pending_hist = (1ULL << 8) | 0;  // slot 0 (under 1 µs) is a slot like any other
    ASSERT_TRUE(decode_thread_slot(s, t));
    EXPECT_EQ(t.runq_hist[0], 1u);
    EXPECT_EQ(t.runq_hist[6], 3u);
}

TEST(SchedSlots, FreeUnseenAndTornSlotsAreSkipped) {
    sched_task_stats t{};
    EXPECT_FALSE(decode_thread_slot(sched_thread_slot{}, t));
    sched_thread_slot claimed = counted_slot();
    claimed.seen = 0;  // claimed, base not set yet
    EXPECT_FALSE(decode_thread_slot(claimed, t));
    sched_thread_slot torn = counted_slot();
    torn.oncpu_ns = torn.base_oncpu_ns - 1;  // base copied from a newer owner
    EXPECT_FALSE(decode_thread_slot(torn, t));
    // Switch counts below their base: not flushed yet, so nothing to count.
    sched_thread_slot early = counted_slot();
    early.nvcsw = early.nivcsw = 0;
    ASSERT_TRUE(decode_thread_slot(early, t));
    EXPECT_EQ(t.nvcsw, 0u);
    EXPECT_EQ(t.nivcsw, 0u);
}

TEST(SchedSlots, ExitMarksTheSlotDeadAndKeepsItsCounts) {
    sched_thread_slot s = counted_slot();
    s.tag |= PERFBPF_THREAD_DEAD;
    s.flags = PERFBPF_TASK_EXITED;
    sched_task_stats t{};
    ASSERT_TRUE(decode_thread_slot(s, t));
    EXPECT_TRUE(thread_slot_dead(s));
    EXPECT_EQ(t.pid, 77u);
    EXPECT_EQ(t.flags, static_cast<uint32_t>(PERFBPF_TASK_EXITED));
}

TEST(SchedSlots, SizedForFourTimesTheThreadsWithinBounds) {
    EXPECT_EQ(thread_slot_bits(0), static_cast<uint32_t>(PERFBPF_THREAD_SLOT_BITS_MIN));
    EXPECT_EQ(thread_slot_bits(300), static_cast<uint32_t>(PERFBPF_THREAD_SLOT_BITS_MIN));
    EXPECT_EQ(thread_slot_bits(4096), 14u);  // 16,384 exactly
    EXPECT_EQ(thread_slot_bits(4097), 15u);
    EXPECT_EQ(thread_slot_bits(20'000), 17u);
    EXPECT_EQ(thread_slot_bits(10'000'000), static_cast<uint32_t>(PERFBPF_THREAD_SLOT_BITS_MAX));
}

TEST(SchedSlots, EachTableSizeHasItsSwitchProgram) {
    EXPECT_EQ(sched_switch_program(14), "on_sched_switch");
    EXPECT_EQ(sched_switch_program(15), "on_sched_switch_15");
    EXPECT_EQ(sched_switch_program(17), "on_sched_switch_17");
}

}  // namespace
}  // namespace perfbpf
