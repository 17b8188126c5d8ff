// Per-series anomaly scoring (detect/anomaly.h) on synthetic series with known changes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "detect/anomaly.h"
#include "model/series_span.h"

namespace perfbpf {
namespace {

SeriesSample gauge(std::string metric, double v) {
    SeriesSample s;
    s.key = {std::move(metric), {{"cgroup", "/app"}}};
    s.kind = MetricKind::gauge;
    s.value = v;
    return s;
}

// Feeds f(t) every second from `from` to `to` (s); the first anomaly phase seen per second.
struct Run {
    std::vector<std::pair<int64_t, AnomalyPhase>> events;
};

template <class F>
Run feed(AnomalyScorer& sc, int64_t from, int64_t to, F f) {
    Run r;
    for (int64_t t = from; t < to; ++t) {
        SeriesSample s = f(t);
        std::vector<SeriesAnomaly> out;
        sc.feed_one(t * 1000, s, out);
        for (const auto& a : out)
            if (a.phase != AnomalyPhase::ongoing) r.events.push_back({t, a.phase});
    }
    return r;
}

TEST(Anomaly, StepInNoisyGaugeStartsWithinFiveIntervalsAndEndsOnceBack) {
    AnomalyScorer sc;
    std::mt19937 rng(1);
    std::normal_distribution<double> noise(0, 2);
    auto r = feed(sc, 0, 1500, [&](int64_t t) {
        return gauge("cpu_pct", 30 + noise(rng) + (t >= 900 && t < 960 ? 25 : 0));
    });
    ASSERT_EQ(r.events.size(), 2u);
    EXPECT_EQ(r.events[0].second, AnomalyPhase::started);
    EXPECT_GE(r.events[0].first, 900);
    EXPECT_LE(r.events[0].first, 905);
    EXPECT_EQ(r.events[1].second, AnomalyPhase::ended);
    EXPECT_GE(r.events[1].first, 960 + 29);
    EXPECT_LE(r.events[1].first, 960 + 35);
}

TEST(Anomaly, FlatSeriesIgnoresMovesUnderItsFloor) {
    AnomalyScorer sc;
    // 0.4 % CPU moving by 0.5: MAD 0, but under the 1 % floor's threshold.
    auto r = feed(sc, 0, 900, [](int64_t t) { return gauge("cpu_pct", t % 97 == 0 ? 0.9 : 0.4); });
    EXPECT_TRUE(r.events.empty());
    // The same series jumping by 20 % is an anomaly.
    r = feed(sc, 900, 920, [](int64_t) { return gauge("cpu_pct", 20.4); });
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events[0].second, AnomalyPhase::started);
}

TEST(Anomaly, CumulativePsiTotalIsScoredOnItsChange) {
    AnomalyScorer sc;
    double total = 0;
    auto r = feed(sc, 0, 1000, [&](int64_t t) {
        total += t >= 800 ? 400'000 : 1'000 + (t % 7) * 100;  // µs stalled per second
        SeriesSample s;
        s.key = {"psi_cpu_some_total_us", {}};
        s.kind = MetricKind::level;
        s.value = total;
        return s;
    });
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events[0].second, AnomalyPhase::started);
    EXPECT_GE(r.events[0].first, 800);
    EXPECT_LE(r.events[0].first, 805);
}

TEST(Anomaly, HistogramIsScoredOnItsP99) {
    AnomalyScorer sc;
    std::mt19937 rng(2);
    auto r = feed(sc, 0, 1000, [&](int64_t t) {
        SeriesSample s;
        s.key = {"lat_hist", {{"device", "sda"}}};
        s.kind = MetricKind::histogram;
        for (int i = 0; i < 200; ++i) s.hist.add_us(100 + rng() % 200);
        if (t >= 800) s.hist.add_us(40'000, 10);  // 5 % of requests at 40 ms
        return s;
    });
    ASSERT_FALSE(r.events.empty());
    EXPECT_GE(r.events[0].first, 800);
    EXPECT_LE(r.events[0].first, 805);
}

TEST(Anomaly, ScoringReportsTheBandItMeasuredAgainst) {
    AnomalyScorer sc;
    std::vector<SeriesAnomaly> out;
    for (int64_t t = 0; t < 700; ++t) sc.feed_one(t * 1000, gauge("cpu_pct", 50 + (t % 2)), out);
    out.clear();
    for (int64_t t = 700; t < 705; ++t) sc.feed_one(t * 1000, gauge("cpu_pct", 90), out);
    ASSERT_FALSE(out.empty());
    const Scoring& s = out.back().scoring;
    EXPECT_DOUBLE_EQ(s.observed, 90);
    EXPECT_DOUBLE_EQ(s.expected, 51);
    // median 51 (the upper middle), MAD 1: 6 * (1.4826 + 5 % of 51) either side.
    EXPECT_NEAR(s.band_high, 51 + 6 * (1.4826 + 0.05 * 51), 1e-3);
    EXPECT_NEAR(s.band_low, 51 - 6 * (1.4826 + 0.05 * 51), 1e-3);
    EXPECT_GT(s.score, sc.params().threshold);
    EXPECT_FALSE(s.seasonal);
}

// A nightly job: 60 at 02:00-03:00 UTC, 10 otherwise, with noise.
double nightly(int64_t t_s, std::mt19937& rng) {
    std::normal_distribution<double> noise(0, 1);
    const int64_t hour = (t_s % 86400) / 3600;
    return (hour == 2 ? 60 : 10) + noise(rng);
}

TEST(Anomaly, DailyCycleSeededFromTheHistoryDoesNotAlarm) {
    std::mt19937 rng(3);
    const int64_t day3 = 3 * 86400;
    // Unseeded, the job's start is an anomaly.
    AnomalyScorer plain;
    auto r = feed(plain, day3 + 3600, day3 + 3 * 3600,
                  [&](int64_t t) { return gauge("cpu_pct", nightly(t, rng)); });
    ASSERT_FALSE(r.events.empty());

    // Seeded with three days of minute means, it is expected.
    AnomalyScorer seeded;
    std::vector<std::pair<int64_t, double>> minutes;
    for (int64_t m = 0; m < day3 / 60; ++m) minutes.push_back({m * 60'000, nightly(m * 60, rng)});
    seeded.seed(gauge("cpu_pct", 0).key, MetricKind::gauge, minutes, 60'000);
    r = feed(seeded, day3 + 3600, day3 + 3 * 3600 + 1800,
             [&](int64_t t) { return gauge("cpu_pct", nightly(t, rng)); });
    EXPECT_TRUE(r.events.empty());
    // And a real step inside the job is still seen.
    r = feed(seeded, day3 + 3 * 3600 + 1800, day3 + 3 * 3600 + 1830,
             [&](int64_t t) { return gauge("cpu_pct", nightly(t, rng) + 40); });
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events[0].second, AnomalyPhase::started);
}

TEST(Anomaly, DailyCycleSeededFromTheHourTierDoesNotAlarm) {
    std::mt19937 rng(4);
    const int64_t day3 = 3 * 86400;
    AnomalyScorer seeded;
    std::vector<std::pair<int64_t, double>> hours;
    for (int64_t h = 0; h < day3 / 3600; ++h)
        hours.push_back({h * 3'600'000, nightly(h * 3600, rng)});
    seeded.seed(gauge("cpu_pct", 0).key, MetricKind::gauge, hours, 3'600'000);
    auto r = feed(seeded, day3 + 3600, day3 + 4 * 3600,
                  [&](int64_t t) { return gauge("cpu_pct", nightly(t, rng)); });
    EXPECT_TRUE(r.events.empty());
}

TEST(Anomaly, BurstShorterThanKIntervalsIsNotAnAnomaly) {
    AnomalyScorer sc;
    std::mt19937 rng(6);
    std::normal_distribution<double> noise(0, 2);
    const int k = sc.params().k;
    auto r = feed(sc, 0, 1000, [&](int64_t t) {
        return gauge("cpu_pct", 30 + noise(rng) + (t >= 800 && t < 800 + k - 1 ? 60 : 0));
    });
    EXPECT_TRUE(r.events.empty());
    r = feed(sc, 1000, 1010, [&](int64_t t) {
        return gauge("cpu_pct", 30 + noise(rng) + (t < 1000 + k ? 60 : 0));
    });
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].first, 1000 + k - 1);
}

TEST(Anomaly, SeriesNotSeenForAWhileEndAndAreDropped) {
    AnomalyScorer sc;
    std::vector<SeriesAnomaly> out;
    for (int64_t t = 0; t < 700; ++t) sc.feed_one(t * 1000, gauge("cpu_pct", 5), out);
    for (int64_t t = 700; t < 710; ++t) sc.feed_one(t * 1000, gauge("cpu_pct", 80), out);
    out.clear();
    SeriesSample other = gauge("cpu_pct", 1);
    other.key.labels = {{"cgroup", "/other"}};
    for (int64_t t = 710; t < 710 + 960; t += 60) out = sc.feed(t * 1000, {&other, 1});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].phase, AnomalyPhase::ended);
    EXPECT_EQ(out[0].key->labels, (Labels{{"cgroup", "/app"}}));
    EXPECT_EQ(sc.series(), 1u);
}

// The daemon scores once a span (model/series_span.h), counters as their mean per interval.
SeriesSample counter(double v) {
    SeriesSample s;
    s.key = {"read_bytes", {{"pid", "1"}}};
    s.kind = MetricKind::counter;
    s.value = v;
    return s;
}

// Feeds `per_interval(i)` every `interval_ms` from 0 for `intervals`, through spans of
// intervals_per_span(interval): the starts and ends seen, at the span's end in ms.
template <class F>
std::vector<std::pair<int64_t, SeriesAnomaly>> feed_spans(AnomalyScorer& sc, int64_t interval_ms,
                                                          int64_t intervals, F per_interval) {
    std::vector<std::pair<int64_t, SeriesAnomaly>> events;
    SeriesSpan span;
    const size_t every = intervals_per_span(static_cast<double>(interval_ms) / 1000);
    for (int64_t i = 0; i < intervals; ++i) {
        span.add(std::vector{per_interval(i)});
        if (span.intervals() < every) continue;
        SpanSeries taken = span.take();
        taken.counters_per_interval();
        const int64_t ts = (i + 1) * interval_ms;
        for (const auto& a : sc.feed(ts, taken.series))
            if (a.phase != AnomalyPhase::ongoing) events.emplace_back(ts, a);
    }
    return events;
}

TEST(AnomalySpan, OneSecondSpansScoreAsEveryInterval) {
    std::mt19937 rng(3);
    // Bytes: the floor is 1 MiB, so MiB-sized moves.
    constexpr double kMiB = 1 << 20;
    std::normal_distribution<double> noise(0, 2 * kMiB);
    std::vector<double> values;
    for (int t = 0; t < 1200; ++t)
        values.push_back(50 * kMiB + noise(rng) + (t >= 800 && t < 850 ? 40 * kMiB : 0));
    AnomalyScorer direct, spans;
    std::vector<std::pair<int64_t, AnomalyPhase>> a;
    for (size_t t = 0; t < values.size(); ++t) {
        std::vector<SeriesAnomaly> out;
        direct.feed_one(static_cast<int64_t>(t + 1) * 1000, counter(values[t]), out);
        for (const auto& x : out)
            if (x.phase != AnomalyPhase::ongoing)
                a.emplace_back(static_cast<int64_t>(t + 1) * 1000, x.phase);
    }
    std::vector<std::pair<int64_t, AnomalyPhase>> b;
    for (const auto& [ts, x] : feed_spans(spans, 1000, static_cast<int64_t>(values.size()),
                                          [&](int64_t i) { return counter(values[i]); }))
        b.emplace_back(ts, x.phase);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a, b);
}

TEST(AnomalySpan, TenthSecondIntervalsAreScoredOnceASecondPerInterval) {
    // 0.1 s intervals, a baseline that learns per span (interval_ms = the span's 1000).
    std::mt19937 rng(4);
    constexpr double kMiB = 1 << 20;
    std::normal_distribution<double> noise(0, kMiB);
    AnomalyScorer sc;
    // 10 MiB an interval, 40 from 600 s on for a minute.
    const auto events = feed_spans(sc, 100, 9000, [&](int64_t i) {
        return counter(std::max(0.0, (10 + (i >= 6000 && i < 6600 ? 30 : 0)) * kMiB + noise(rng)));
    });
    ASSERT_FALSE(events.empty());
    const auto& [ts, first] = events.front();
    EXPECT_EQ(first.phase, AnomalyPhase::started);
    // Within five spans of the step: k of n spans out of band.
    EXPECT_GE(ts, 600'000);
    EXPECT_LE(ts, 605'000);
    // Scored per interval, as the history's minute tier seeds it: ~40 MiB, not the span's 400.
    EXPECT_NEAR(first.scoring.observed / kMiB, 40, 2);
    EXPECT_NEAR(first.scoring.expected / kMiB, 10, 1);
}

}  // namespace
}  // namespace perfbpf
