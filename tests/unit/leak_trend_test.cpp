// The leak-growth classifier on synthetic series.
#include <gtest/gtest.h>

#include <cmath>

#include "detect/leak_trend.h"

namespace perfbpf {
namespace {

// Points every second from 0 to `seconds`, bytes = f(t).
template <class F>
std::vector<TrendPoint> series(int seconds, F f) {
    std::vector<TrendPoint> pts;
    for (int t = 0; t <= seconds; ++t) pts.push_back({double(t), f(double(t))});
    return pts;
}

TrendInput exact(std::vector<TrendPoint> pts, double allocs, double frees, double allocated,
                 double oldest_s) {
    TrendInput in;
    in.series = std::move(pts);
    in.total_allocs = allocs;
    in.total_frees = frees;
    in.allocated_bytes = allocated;
    in.oldest_age_s = oldest_s;
    in.duration_s = in.series.empty() ? 0 : in.series.back().t_s;
    return in;
}

TEST(LeakTrend, SteadyGrowthNeverFreedIsLeak) {
    auto in = exact(series(20, [](double t) { return 1000.0 * t; }), 200, 0, 20000, 20);
    auto v = classify_trend(in);
    EXPECT_EQ(v.cls, LeakClass::leak);
    EXPECT_NEAR(v.slope_bytes_per_s, 1000.0, 1e-6);
    EXPECT_GT(v.confidence, 0.85);
}

TEST(LeakTrend, CacheThatFilledAndStoppedIsPlateau) {
    // Fills in 5 s, then holds 5000 B (entries replaced, so frees happen) for 15 s.
    auto in = exact(series(20, [](double t) { return 1000.0 * std::min(t, 5.0); }), 300, 295,
                    300000, 19.5);
    auto v = classify_trend(in);
    EXPECT_EQ(v.cls, LeakClass::plateau);
    EXPECT_GT(v.confidence, 0.7);
}

TEST(LeakTrend, AllocatedAndFreedIsChurn) {
    auto in = exact(series(10, [](double) { return 0.0; }), 1e6, 1e6, 6.4e7, -1);
    EXPECT_EQ(classify_trend(in).cls, LeakClass::churn);
    // A small working set of short-lived blocks is churn too.
    auto ws = exact(series(10, [](double t) { return t > 0 ? 640.0 : 0.0; }), 1e6, 1e6 - 10, 6.4e7,
                    0.001);
    EXPECT_EQ(classify_trend(ws).cls, LeakClass::churn);
}

TEST(LeakTrend, GrowthWithYoungAllocationsIsGrowingNotLeak) {
    // A queue that grows while its items are freed after a short while: outstanding keeps
    // rising but nothing is old.
    auto in = exact(series(20, [](double t) { return 5000.0 * t; }), 10000, 9000, 1e7, 0.5);
    EXPECT_EQ(classify_trend(in).cls, LeakClass::growing);
}

TEST(LeakTrend, SlowingGrowthIsGrowing) {
    auto in =
        exact(series(20, [](double t) { return 1000.0 * std::sqrt(t) * 10; }), 100, 0, 45000, 20);
    auto v = classify_trend(in);
    EXPECT_TRUE(v.cls == LeakClass::growing || v.cls == LeakClass::leak);
    EXPECT_NE(v.cls, LeakClass::plateau);
}

TEST(LeakTrend, ShortTraceDecidesByCounts) {
    // A program that ran for one interval: two points only.
    auto leak = exact({{0, 0}, {0.05, 10000}}, 10, 0, 10000, 0.04);
    EXPECT_EQ(classify_trend(leak).cls, LeakClass::leak);
    auto realloc_growth = exact({{0, 0}, {0.05, 10240}}, 10, 9, 56320, 0.04);
    EXPECT_EQ(classify_trend(realloc_growth).cls, LeakClass::growing);
}

TEST(LeakTrend, GrowthModeFlatRssMakesFaultingStacksChurn) {
    TrendInput in;
    in.series = series(10, [](double t) { return 1e6 * t; });
    in.frees_known = false;
    in.duration_s = 10;
    EXPECT_EQ(classify_trend(in).cls, LeakClass::leak);
    in.owner_rss_flat = true;
    EXPECT_EQ(classify_trend(in).cls, LeakClass::churn);
}

// The session classifies a growth report: the process from its RSS (growth from the first
// sample), each path from its series, churn when the process's RSS stayed flat.
TEST(LeakTrend, ClassifyTrendsOfGrowthReportFollowsTheProcessRss) {
    LeakReport r;
    r.mode = "growth";
    r.duration_ns = 10'000'000'000;
    ProcessGrowth p;
    p.rss = series(10, [](double) { return 50e6; });
    p.trend.cls = LeakClass::plateau;  // not the default: the verdicts below are computed
    r.processes.push_back(p);
    LeakStack s;
    s.series = series(10, [](double t) { return 1e6 * t; });
    s.trend.cls = LeakClass::plateau;
    r.stacks.push_back(s);
    classify_trends(r);
    EXPECT_EQ(r.processes[0].trend.cls, LeakClass::churn);
    EXPECT_EQ(r.stacks[0].trend.cls, LeakClass::churn);

    r.processes[0].rss = series(10, [](double t) { return 50e6 + 1e6 * t; });
    classify_trends(r);
    EXPECT_EQ(r.processes[0].trend.cls, LeakClass::leak);
    EXPECT_NEAR(r.processes[0].trend.slope_bytes_per_s, 1e6, 1.0);
    EXPECT_EQ(r.stacks[0].trend.cls, LeakClass::leak);
}

// Exact, sampled and kernel reports: each stack from its counts and series (frees known).
TEST(LeakTrend, ClassifyTrendsOfExactReportUsesEachStacksCounts) {
    LeakReport r;
    r.mode = "exact";
    r.duration_ns = 20'000'000'000;
    LeakStack leak;
    leak.series = series(20, [](double t) { return 1000.0 * t; });
    leak.total_allocs = 200;
    leak.allocated_bytes = 20000;
    leak.oldest_age_ns = 20'000'000'000;
    leak.trend.cls = LeakClass::plateau;  // not the default: the verdicts below are computed
    LeakStack churn = leak;
    churn.series = series(20, [](double t) { return t < 20 ? 100.0 : 0.0; });
    churn.total_frees = 200;
    r.stacks = {leak, churn};
    classify_trends(r);
    EXPECT_EQ(r.stacks[0].trend.cls, LeakClass::leak);
    EXPECT_EQ(r.stacks[1].trend.cls, LeakClass::churn);
    EXPECT_TRUE(r.processes.empty());
}

TEST(LeakTrend, FitLineRecoversSlopeAndR2) {
    auto f = fit_line(series(10, [](double t) { return 3.0 * t + 2.0; }));
    EXPECT_NEAR(f.slope, 3.0, 1e-9);
    EXPECT_NEAR(f.intercept, 2.0, 1e-9);
    EXPECT_NEAR(f.r2, 1.0, 1e-9);
    EXPECT_EQ(fit_line({{1, 5}}).slope, 0.0);
}

}  // namespace
}  // namespace perfbpf
