// The limits forecasts run to by default: which series hold them, tightest first.
#include "detect/forecast_limits.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

TEST(ForecastLimits, FilesystemUseRunsToItsOwnSize) {
    const Labels fs{{"device", "vda1"}, {"mountpoint", "/"}};
    auto r = limit_rule({"fs_used_bytes", fs});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->candidates.size(), 1u);
    EXPECT_EQ(r->candidates[0].series, (SeriesKey{"fs_size_bytes", fs}));
    EXPECT_EQ(r->candidates[0].meaning, "vda1 full");
    EXPECT_TRUE(r->upward);
    auto avail = limit_rule({"fs_avail_bytes", fs});
    ASSERT_TRUE(avail && avail->constant);
    EXPECT_EQ(*avail->constant, 0);
    EXPECT_FALSE(avail->upward);
}

TEST(ForecastLimits, MemoryRunsToHighThenMaxThenTheMachine) {
    auto cg = limit_rule({"memory_current_bytes", {{"cgroup", "/db.slice"}}});
    ASSERT_TRUE(cg);
    ASSERT_EQ(cg->candidates.size(), 2u);
    EXPECT_EQ(cg->candidates[0].series.metric, "memory_high_bytes");
    EXPECT_EQ(cg->candidates[1].series, (SeriesKey{"memory_max_bytes", {{"cgroup", "/db.slice"}}}));
    EXPECT_EQ(cg->candidates[1].meaning, "/db.slice at memory.max");
    auto p = limit_rule(
        {"rss_bytes", {{"cgroup", "/db.slice"}, {"comm", "java"}, {"pid", "42"}, {"start", "7"}}});
    ASSERT_TRUE(p);
    ASSERT_EQ(p->candidates.size(), 3u);
    EXPECT_EQ(p->candidates[0].meaning, "pid 42 (java) at memory.high");
    EXPECT_EQ(p->candidates[2].series, (SeriesKey{"mem_total_bytes", {}}));
    EXPECT_FALSE(limit_rule({"cpu_busy_pct", {}}));
}

}  // namespace
}  // namespace perfbpf
