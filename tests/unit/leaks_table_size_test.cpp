// How big the kernel's table of outstanding allocations is made, and how much of it is
// preallocated when the trace starts (leaks/session.cpp).
#include <gtest/gtest.h>

#include "leaks/session.h"
#include "probes/leaks_probe.h"

namespace perfbpf {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

TEST(LeaksTableSize, DefaultBudgetIsPreallocatedWholeWhenTheMachineHasTheMemory) {
    LeaksTraceOptions o;
    const uint32_t entries = live_entries(o);
    EXPECT_EQ(entries, 2097152u);  // 256 MiB at 128 B
    // 2M entries at 128 B are 256 MiB: 1/16 of 4 GiB.
    EXPECT_EQ(live_prealloc_entries(o, 4 * kGiB), entries);
    EXPECT_EQ(live_prealloc_entries(o, 64 * kGiB), entries);
}

TEST(LeaksTableSize, SmallMachinesPreallocateASixteenthOfTheirMemoryAndNoLessThanTheFloor) {
    LeaksTraceOptions o;
    // 2 GiB available: 128 MiB, 1M entries.
    EXPECT_EQ(live_prealloc_entries(o, 2 * kGiB), 1048576u);
    EXPECT_EQ(live_prealloc_entries(o, kGiB / 4), kLivePrealloc);
    EXPECT_EQ(live_prealloc_entries(o, 0), kLivePrealloc);  // MemAvailable unknown
}

TEST(LeaksTableSize, NeverMoreThanTheTableAndTheOptionWins) {
    LeaksTraceOptions o;
    o.max_live = 5000;
    EXPECT_EQ(live_prealloc_entries(o, 0), 5000u);
    EXPECT_EQ(live_prealloc_entries(o, 64 * kGiB), 5000u);
    o.max_live = 0;
    o.live_prealloc = 300000;
    EXPECT_EQ(live_prealloc_entries(o, 64 * kGiB), 300000u);
    o.max_live = 200000;
    EXPECT_EQ(live_prealloc_entries(o, 64 * kGiB), 200000u);
}

TEST(LeaksTableSize, SampledModeKeepsTheFloor) {
    LeaksTraceOptions o;
    o.mode = "sampled";
    EXPECT_EQ(live_prealloc_entries(o, 64 * kGiB), kLivePrealloc);
    o.max_live = 5000;
    EXPECT_EQ(live_prealloc_entries(o, 64 * kGiB), 5000u);
    o.max_live = 0;
    o.live_prealloc = 1u << 20;
    EXPECT_EQ(live_prealloc_entries(o, 64 * kGiB), 1u << 20);
}

TEST(LeaksTableSize, MemAvailableIsRead) {
    EXPECT_GT(mem_available_bytes(), 0u);
}

}  // namespace
}  // namespace perfbpf
