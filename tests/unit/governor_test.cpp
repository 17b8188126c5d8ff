#include "detect/governor.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

TEST(Governor, StepsDownOverBudgetOneLevelAPeriod) {
    Governor g(1.0);
    auto s = g.observe(2.5);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->from, 0);
    EXPECT_EQ(s->to, 1);
    EXPECT_NE(s->reason.find("2.50 %"), std::string::npos);
    EXPECT_NE(s->reason.find("half the process series"), std::string::npos);
    EXPECT_EQ(g.shed().process_series_factor, 0.5);
    g.observe(2.0);
    g.observe(2.0);
    EXPECT_EQ(g.level(), Governor::kMaxLevel);
    EXPECT_FALSE(g.observe(5.0));  // nothing more to shed
    EXPECT_EQ(g.shed().interval_factor, 4);
}

// Each level sheds at least what the one before it shed.
TEST(Governor, LevelsShedMoreAsTheyGo) {
    EXPECT_EQ(Governor::shed_at(0).sample_one_in, 1u);
    for (int l = 1; l <= Governor::kMaxLevel; ++l) {
        const auto& prev = Governor::shed_at(l - 1);
        const auto& cur = Governor::shed_at(l);
        EXPECT_GT(cur.sample_one_in, prev.sample_one_in);
        EXPECT_LT(cur.process_series_factor, prev.process_series_factor);
        EXPECT_GE(cur.interval_factor, prev.interval_factor);
        EXPECT_NE(cur.what.find("tcp_probe"), std::string::npos) << cur.what;
    }
}

TEST(Governor, StaysWithinTheHysteresisGap) {
    Governor g(1.0);
    g.observe(1.5);
    ASSERT_EQ(g.level(), 1);
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(g.observe(0.8));  // under budget, not calm
    EXPECT_EQ(g.level(), 1);
}

TEST(Governor, StepsBackUpAfterCalmPeriods) {
    Governor g(1.0);
    g.observe(3);
    g.observe(3);
    ASSERT_EQ(g.level(), 2);
    EXPECT_FALSE(g.observe(0.2));
    auto up = g.observe(0.2);
    ASSERT_TRUE(up);
    EXPECT_EQ(up->to, 1);
    EXPECT_FALSE(g.observe(0.2));
    EXPECT_FALSE(g.observe(0.9));  // a busy period resets the count
    EXPECT_FALSE(g.observe(0.2));
    auto full = g.observe(0.2);
    ASSERT_TRUE(full);
    EXPECT_EQ(full->to, 0);
    EXPECT_NE(full->reason.find("full collection"), std::string::npos);
    EXPECT_FALSE(g.observe(0.0));
}

}  // namespace
}  // namespace perfbpf
