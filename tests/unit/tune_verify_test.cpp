// Verification of a change (target beyond the noise, guard not worse) and the gate
// (rate limit, back-off, hysteresis, hands off).
#include <gtest/gtest.h>

#include <regex>

#include "tune/verify.h"

namespace perfbpf::tune {
namespace {

const MetricSpec kThroughput{"read_bytes_per_s", Better::higher, 0};
const MetricSpec kLatency{"read_lat_p99_us", Better::lower, 10};
const KnobId kRa{KnobKind::block_queue, "read_ahead_kb", Scope::device("loop3")};

Verification check(std::vector<double> tb, std::vector<double> ta,
                   std::vector<double> gb = {100, 100, 100},
                   std::vector<double> ga = {100, 100, 100}) {
    return verify_change(kThroughput, tb, ta, kLatency, gb, ga, VerifyPolicy{});
}

TEST(Verify, KeepsAClearGain) {
    auto v = check({100, 102, 98, 101}, {150, 148, 151, 149});
    EXPECT_TRUE(v.keep) << v.detail;
    EXPECT_NEAR(v.target_before.mean, 100.25, 1e-9);
}

TEST(Verify, AGainWithinTheNoiseIsNotEnough) {
    // Mean +10 %, but the window before swings by ±30 %.
    auto v = check({70, 130, 80, 120}, {110, 110, 110, 110});
    EXPECT_FALSE(v.keep) << v.detail;
    EXPECT_NE(v.detail.find("noise"), std::string::npos);
    // A steady window before: +3 % is still under the minimum relative gain.
    EXPECT_FALSE(check({100, 100, 100}, {103, 103, 103}).keep);
}

TEST(Verify, AWorseGuardRevertsEvenAGoodTarget) {
    auto v = check({100, 100, 100}, {200, 200, 200}, {100, 105, 95}, {300, 310, 290});
    EXPECT_FALSE(v.keep);
    EXPECT_NE(v.detail.find("worse"), std::string::npos) << v.detail;
    // Within its tolerance (10 %, and the 10 us floor) the guard lets it pass.
    EXPECT_TRUE(check({100, 100, 100}, {200, 200, 200}, {100, 100, 100}, {108, 108, 108}).keep);
}

// The verdict's text (journal, log, --status) quotes its numbers in the metric's unit,
// as plans do: the issue saw "80904522 -> 45685386 (needed a rise by 77310137)".
TEST(Verify, TheVerdictQuotesItsNumbersInTheirUnits) {
    const MetricSpec bytes{"read_bytes_per_s @ device:loop3", Better::higher, 64 * 1024,
                           Unit::bytes_per_s};
    const MetricSpec lat{"read_lat_p99_us @ device:loop3", Better::lower, 20, Unit::us};
    auto v = verify_change(bytes, {80904522, 80904522, 80904522}, {45685386, 45685386, 45685386},
                           lat, {1300, 1300, 1300}, {1400, 1400, 1400}, VerifyPolicy{});
    EXPECT_FALSE(v.keep);
    EXPECT_NE(v.detail.find("77.2 MiB/s -> 43.6 MiB/s"), std::string::npos) << v.detail;
    EXPECT_NE(v.detail.find("needed a rise by 3.86 MiB/s"), std::string::npos) << v.detail;
    v = verify_change(bytes, {1e6, 1e6, 1e6}, {2e6, 2e6, 2e6}, lat, {1300, 1300, 1300},
                      {1400, 1400, 1400}, VerifyPolicy{});
    EXPECT_TRUE(v.keep) << v.detail;
    EXPECT_NE(v.detail.find("guard read_lat_p99_us @ device:loop3 1.3 ms -> 1.4 ms"),
              std::string::npos)
        << v.detail;
    EXPECT_FALSE(std::regex_search(v.detail, std::regex("[0-9]{6}"))) << v.detail;
}

TEST(Verify, LowerIsBetterMetricsAndTooFewSamples) {
    auto v = verify_change(kLatency, {500, 510, 490}, {200, 210, 190}, kThroughput, {}, {}, {});
    EXPECT_TRUE(v.keep) << v.detail;
    EXPECT_FALSE(
        verify_change(kLatency, {500, 510, 490}, {800, 810, 790}, kThroughput, {}, {}, {}).keep);
    auto few = check({100, 100}, {200, 200, 200});
    EXPECT_FALSE(few.keep);
    EXPECT_NE(few.detail.find("too few"), std::string::npos);
}

TEST(ChangeGate, RateLimitPerKnob) {
    ChangeGate g(GatePolicy{60'000, 600'000, 300'000});
    EXPECT_EQ(g.blocked(kRa, "256", +1, 0), "");
    g.applied(kRa, "128", "256", +1, 0);
    EXPECT_NE(g.blocked(kRa, "512", +1, 30'000), "");
    EXPECT_EQ(g.blocked(kRa, "512", +1, 61'000), "");
    KnobId other = kRa;
    other.scope = Scope::device("loop4");
    EXPECT_EQ(g.blocked(other, "256", +1, 1'000), "");
}

TEST(ChangeGate, RevertedChangesBackOffLongerEachTime) {
    ChangeGate g(GatePolicy{0, 1'000, 0});
    g.applied(kRa, "128", "256", +1, 0);
    g.reverted(kRa, "256", 10);
    EXPECT_NE(g.blocked(kRa, "256", +1, 500), "");
    EXPECT_EQ(g.blocked(kRa, "64", -1, 500), "");  // another change is not backed off
    EXPECT_EQ(g.blocked(kRa, "256", +1, 1'100), "");
    g.applied(kRa, "128", "256", +1, 1'100);
    g.reverted(kRa, "256", 1'200);
    EXPECT_NE(g.blocked(kRa, "256", +1, 2'500), "");  // 2 s this time
    EXPECT_EQ(g.blocked(kRa, "256", +1, 3'300), "");
}

TEST(ChangeGate, HysteresisAgainstFlipFlops) {
    ChangeGate g(GatePolicy{1'000, 1'000, 60'000});
    g.applied(kRa, "128", "256", +1, 0);
    EXPECT_NE(g.blocked(kRa, "128", -1, 5'000), "");  // would undo it
    EXPECT_EQ(g.blocked(kRa, "512", +1, 5'000), "");  // the same way is fine
    EXPECT_EQ(g.blocked(kRa, "128", -1, 61'000), "");
    KnobId sched{KnobKind::block_queue, "scheduler", Scope::device("loop3")};
    g.applied(sched, "bfq", "none", 0, 0);
    EXPECT_NE(g.blocked(sched, "bfq", 0, 5'000), "");
    EXPECT_EQ(g.blocked(sched, "mq-deadline", 0, 5'000), "");
    g.hands_off(sched);
    EXPECT_NE(g.blocked(sched, "mq-deadline", 0, 100'000), "");
}

}  // namespace
}  // namespace perfbpf::tune
