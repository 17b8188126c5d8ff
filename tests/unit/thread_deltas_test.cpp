#include "collect/parse/thread_deltas.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

ThreadTotals totals(int tid, uint64_t oncpu_ms, uint64_t wait_ms) {
    return {tid, "t" + std::to_string(tid), 'R', oncpu_ms * 1'000'000, wait_ms * 1'000'000};
}

constexpr uint64_t kSecond = 1'000'000'000;

TEST(ThreadDeltas, FirstReadingIsUnmeasuredSecondGivesSharesSinceIt) {
    ThreadDeltas d;
    auto first = d.update(7, {totals(7, 100, 5), totals(8, 900, 1)}, 10 * kSecond);
    ASSERT_EQ(first.size(), 2u);
    for (const auto& t : first) {
        EXPECT_FALSE(t.measured) << t.tid;
        EXPECT_EQ(t.cpu_pct, 0);
    }
    // 2 s later: thread 7 ran 500 ms (25 %), 8 ran 2 s (100 %); 9 is new.
    auto second =
        d.update(7, {totals(7, 600, 15), totals(8, 2900, 1), totals(9, 50, 0)}, 12 * kSecond);
    ASSERT_EQ(second.size(), 3u);
    EXPECT_TRUE(second[0].measured);
    EXPECT_DOUBLE_EQ(second[0].cpu_pct, 25);
    EXPECT_EQ(second[0].oncpu_ns, 500'000'000u);
    EXPECT_EQ(second[0].runq_wait_ns, 10'000'000u);
    EXPECT_DOUBLE_EQ(second[1].cpu_pct, 100);
    EXPECT_FALSE(second[2].measured);
    EXPECT_EQ(second[2].comm, "t9");
}

TEST(ThreadDeltas, AnotherProcessStartsOver) {
    ThreadDeltas d;
    d.update(7, {totals(7, 100, 0)}, 1 * kSecond);
    auto other = d.update(9, {totals(7, 500, 0)}, 2 * kSecond);  // the same tid number
    EXPECT_FALSE(other[0].measured);
    auto again = d.update(9, {totals(7, 900, 0)}, 3 * kSecond);
    EXPECT_DOUBLE_EQ(again[0].cpu_pct, 40);
}

TEST(ThreadDeltas, ReusedTidWithSmallerTotalsIsNotNegative) {
    ThreadDeltas d;
    d.update(7, {totals(8, 900, 9)}, 1 * kSecond);
    auto after = d.update(7, {totals(8, 100, 1)}, 2 * kSecond);
    EXPECT_EQ(after[0].oncpu_ns, 0u);
    EXPECT_EQ(after[0].runq_wait_ns, 0u);
}

}  // namespace
}  // namespace perfbpf
