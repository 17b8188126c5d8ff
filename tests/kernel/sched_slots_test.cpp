// The sched family's per-thread slots: claimed at a thread's first switch-out, read in
// place, freed after the read that saw the thread's exit.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <thread>

#include "collect/sched_reader.h"
#include "probes/sched_probe.h"
#include "support.h"

namespace perfbpf {
namespace {

using test::Child;
using test::fixture;

struct Slots {
    size_t live = 0, dead = 0, used_bits = 0;
};

// The slots of process tgid, as the mapping shows them now.
Slots slots_of(const SchedProbe& probe, uint32_t tgid) {
    Slots n;
    const auto slots = probe.threads().slots<sched_thread_slot>();
    const auto used = probe.threads().used();
    for (size_t i = 0; i < slots.size(); ++i) {
        const sched_thread_slot& s = slots[i];
        if (!s.tag || !s.seen || s.tgid != tgid) continue;
        (s.tag & PERFBPF_THREAD_DEAD ? n.dead : n.live)++;
        if (used[i / 64] & (1ULL << (i % 64))) n.used_bits++;
    }
    return n;
}

// Threads running at load, which size the table; each size has its own switch program
// (sched.bpf.c), so every one is run here: 16,384 slots to 131,072.
class SchedSlots : public ::testing::TestWithParam<uint64_t> {};

TEST_P(SchedSlots, AThreadsSlotIsFreedAfterTheReadThatSawItsExit) {
    PERFBPF_REQUIRE_ROOT();
    auto shared = SharedMaps::create();
    ASSERT_TRUE(shared) << shared.error().message;
    ProbeOptions opts;
    opts.threads_at_load = GetParam();
    auto probe = SchedProbe::load(*shared, opts);
    ASSERT_TRUE(probe->active()) << probe->load_error();
    // Sized for four times the threads running at load, never below the minimum.
    const uint32_t bits = thread_slot_bits(opts.threads_at_load);
    ASSERT_EQ(probe->threads().slots<sched_thread_slot>().size(), size_t{1} << bits);
    // One switch program attached, the one for this size.
    size_t switch_hooks = 0;
    for (const auto& st : probe->status())
        if (st.probe == "raw_tp/sched_switch") {
            ++switch_hooks;
            EXPECT_TRUE(st.attached) << st.reason;
        }
    EXPECT_EQ(switch_hooks, 1u);
    EXPECT_EQ(probe->run_counts().count("raw_tp/sched_switch"), 1u);
    ASSERT_EQ(probe->threads().used().size() * 64,
              probe->threads().slots<sched_thread_slot>().size());
    SchedReader reader(*probe);

    constexpr int kThreads = 200;
    // 200 threads each waking every 20 ms for 200 us, for 1.5 s
    Child crowd =
        Child::spawn({fixture("thread_crowd"), std::to_string(kThreads), "20", "200", "1.5"});
    ASSERT_GT(crowd.pid(), 0);
    const auto tgid = static_cast<uint32_t>(crowd.pid());
    CollectContext ctx;
    ctx.interval_ns = 1'000'000'000;
    uint64_t oncpu = 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    {
        SnapshotBuilder b(ctx);
        reader.collect(b);
        if (b.has_process(static_cast<int>(tgid)))
            oncpu += b.process(static_cast<int>(tgid)).oncpu_ns;
    }
    // Every thread of the crowd has switched out by now: each has its slot, marked used.
    const Slots running = slots_of(*probe, tgid);
    EXPECT_GE(running.live, static_cast<size_t>(kThreads)) << "dead: " << running.dead;
    EXPECT_EQ(running.used_bits, running.live + running.dead);

    ASSERT_EQ(crowd.wait(), 0);
    // A thread wakes its parent (exit_notify) before its final switch-out marks the slot:
    // the last one may still be on its way out when wait() returns.
    Slots exited = slots_of(*probe, tgid);
    for (int i = 0; i < 200 && exited.live; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        exited = slots_of(*probe, tgid);
    }
    // The read after the exit counts the threads' last slices, then frees their slots.
    EXPECT_EQ(exited.live, 0u);
    EXPECT_GE(exited.dead, static_cast<size_t>(kThreads));
    {
        ctx.now_ns += 1'000'000'000;
        SnapshotBuilder b(ctx);
        reader.collect(b);
        if (b.has_process(static_cast<int>(tgid)))
            oncpu += b.process(static_cast<int>(tgid)).oncpu_ns;
    }
    const Slots freed = slots_of(*probe, tgid);
    EXPECT_EQ(freed.live + freed.dead, 0u);
    // Everything the crowd ran, as the kernel's rusage tells its parent.
    const double cpu_ns = static_cast<double>(crowd.cpu_time_ns());
    ASSERT_GT(cpu_ns, 0);
    EXPECT_NEAR(static_cast<double>(oncpu), cpu_ns, 0.05 * cpu_ns + 20e6);
    size_t bits_set = 0;
    for (uint64_t w : probe->threads().used()) bits_set += static_cast<size_t>(std::popcount(w));
    size_t tagged = 0;
    for (const auto& s : probe->threads().slots<sched_thread_slot>()) tagged += s.tag != 0;
    // Other threads of the machine come and go meanwhile; a freed slot loses its bit too.
    EXPECT_LE(bits_set, tagged);
}

INSTANTIATE_TEST_SUITE_P(TableSizes, SchedSlots, ::testing::Values(0, 5'000, 10'000, 20'000),
                         [](const auto& info) { return "threads_" + std::to_string(info.param); });

}  // namespace
}  // namespace perfbpf
