// The daemon's spans (model/series_span.h): the intervals between two runs of the consumers
// that run once a second, folded by kind; a span of one interval is that interval.
#include "model/series_span.h"

#include <gtest/gtest.h>

#include "support/series_sample.h"

namespace perfbpf {
namespace {

constexpr auto* sample = &test::series_sample;

SeriesSample hist(std::string metric, uint64_t us, uint64_t count) {
    SeriesSample s = sample(std::move(metric), {{"pid", "1"}}, MetricKind::histogram, 0);
    s.hist.add_us(us, count);
    return s;
}

// One interval of a host: a counter, a gauge, a level and a histogram per value of `i`.
std::vector<SeriesSample> interval(double i) {
    return {sample("read_bytes", {{"pid", "1"}}, MetricKind::counter, 100 * i),
            sample("cpu_pct", {{"pid", "1"}}, MetricKind::gauge, i),
            sample("rss_bytes", {{"pid", "1"}}, MetricKind::level, 1000 + i),
            hist("runq_hist", static_cast<uint64_t>(10 * i), 1)};
}

TEST(DaemonSeriesSpan, IntervalsPerSpanMakeAtLeastASecond) {
    EXPECT_EQ(intervals_per_span(0.1), 10u);
    EXPECT_EQ(intervals_per_span(0.2), 5u);
    EXPECT_EQ(intervals_per_span(0.25), 4u);
    EXPECT_EQ(intervals_per_span(0.3), 4u);  // 1.2 s: never shorter than the cadence
    EXPECT_EQ(intervals_per_span(0.5), 2u);
    EXPECT_EQ(intervals_per_span(1.0), 1u);
    EXPECT_EQ(intervals_per_span(5.0), 1u);  // longer than a second: every interval
    EXPECT_EQ(intervals_per_span(0.0), 1u);
}

TEST(DaemonSeriesSpan, OneIntervalIsThatInterval) {
    SeriesSpan span;
    auto in = interval(3);
    span.add(in);
    EXPECT_EQ(span.intervals(), 1u);
    const SpanSeries out = span.take();
    EXPECT_EQ(out.intervals, 1u);
    EXPECT_EQ(span.intervals(), 0u);
    ASSERT_EQ(out.series.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        EXPECT_EQ(out.series[i].key, in[i].key);
        EXPECT_EQ(out.series[i].kind, in[i].kind);
        EXPECT_EQ(out.series[i].value, in[i].value) << in[i].key.metric;
        EXPECT_EQ(out.series[i].hist, in[i].hist);
        EXPECT_EQ(out.max[i], in[i].value);
        EXPECT_EQ(out.present[i], 1u);
    }
}

TEST(DaemonSeriesSpan, TenIntervalsFoldByKind) {
    SeriesSpan span;
    for (int i = 1; i <= 10; ++i) span.add(interval(i));
    const SpanSeries out = span.take();
    EXPECT_EQ(out.intervals, 10u);
    ASSERT_EQ(out.series.size(), 4u);
    EXPECT_DOUBLE_EQ(out.series[0].value, 100 * 55);  // counter: the sum
    EXPECT_DOUBLE_EQ(out.max[0], 1000);
    EXPECT_DOUBLE_EQ(out.series[1].value, 5.5);  // gauge: the mean
    EXPECT_DOUBLE_EQ(out.max[1], 10);
    EXPECT_DOUBLE_EQ(out.series[2].value, 1010);  // level: the last
    EXPECT_EQ(out.series[3].hist.count(), 10u);   // histogram: merged
    EXPECT_EQ(out.present[0], 10u);

    // The next span starts from nothing.
    span.add(interval(2));
    const SpanSeries next = span.take();
    EXPECT_DOUBLE_EQ(next.series[0].value, 200);
    EXPECT_DOUBLE_EQ(next.series[1].value, 2);
    EXPECT_EQ(next.series[3].hist.count(), 1u);
}

TEST(DaemonSeriesSpan, SeriesMissingFromTheLastIntervalComeAfterIt) {
    SeriesSpan span;
    const SeriesSample a = sample("cpu_pct", {{"pid", "1"}}, MetricKind::gauge, 10);
    const SeriesSample gone = sample("cpu_pct", {{"pid", "2"}}, MetricKind::gauge, 50);
    const SeriesSample b = sample("cpu_pct", {{"pid", "3"}}, MetricKind::gauge, 20);
    span.add(std::vector{a, gone, b});
    span.add(std::vector{a, gone, b});
    span.add(std::vector{a, b});  // pid 2 exited; pid 3 moved to its position
    const SpanSeries out = span.take();
    ASSERT_EQ(out.series.size(), 3u);
    EXPECT_EQ(out.series[0].key, a.key);
    EXPECT_EQ(out.series[1].key, b.key);
    EXPECT_EQ(out.series[2].key, gone.key);
    EXPECT_EQ(out.present[1], 3u);
    EXPECT_EQ(out.present[2], 2u);
    EXPECT_DOUBLE_EQ(out.series[2].value, 50);  // the mean of the intervals it was in

    // Gone for a whole span: not in the next one.
    for (int i = 0; i < 20; ++i) {
        span.add(std::vector{a, b});
        const SpanSeries later = span.take();
        ASSERT_EQ(later.series.size(), 2u);
        EXPECT_DOUBLE_EQ(later.series[1].value, 20);
    }
}

TEST(DaemonSeriesSpan, EachKeyHasOneIdWhileItLasts) {
    SeriesSpan span;
    auto first = interval(1);
    span.add(first);
    const SpanSeries out = span.take();
    for (size_t i = 0; i < first.size(); ++i) {
        EXPECT_NE(first[i].id, 0u);
        EXPECT_EQ(out.series[i].id, first[i].id);  // what the span's consumers see
        for (size_t j = 0; j < i; ++j) EXPECT_NE(first[i].id, first[j].id);
    }
    // The same keys in another order: the same ids, each with its key.
    auto again = interval(2);
    std::swap(again[0], again[3]);
    span.add(again);
    EXPECT_EQ(again[0].id, first[3].id);
    EXPECT_EQ(again[3].id, first[0].id);
    EXPECT_EQ(again[1].id, first[1].id);
    // Another span has ids of its own: none is another key's.
    SeriesSpan other;
    auto other_keys = std::vector{sample("cpu_pct", {{"pid", "9"}}, MetricKind::gauge, 1)};
    other.add(other_keys);
    for (const auto& s : first) EXPECT_NE(other_keys[0].id, s.id);
}

TEST(DaemonSeriesSpan, CountersPerIntervalForScoring) {
    SeriesSpan span;
    for (int i = 1; i <= 4; ++i) span.add(interval(i));
    SpanSeries out = span.take();
    out.counters_per_interval();
    EXPECT_DOUBLE_EQ(out.series[0].value, 100 * 10 / 4.0);
    EXPECT_DOUBLE_EQ(out.series[1].value, 2.5);  // the gauge's mean is unchanged
}

}  // namespace
}  // namespace perfbpf
