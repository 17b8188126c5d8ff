// The series of several intervals folded into one sample per series: what the daemon's
// consumers that run at their own cadence (alert rules, anomaly scoring, the exposition's
// totals, remote write) see instead of every interval. At 0.1 s they were half of the
// daemon's CPU doing per interval what nobody needs ten times a second; history still
// stores every interval's raw samples.
//
// A series' span value follows its kind as the history's coarser tiers do: a counter's
// sum over the span (what the intervals add up to), a gauge's mean (a share or rate over
// the interval: the mean of equal intervals is the span's own), a level's last value, a
// histogram's merged slots. The largest interval value is kept beside it for consumers that
// must not average a spike away. A span of one interval gives that interval's samples
// unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "model/series.h"
#include "model/series_lookup.h"

namespace perfbpf {

// How many intervals of `interval_s` make one span of at least `cadence_s` (1 s: alert rules
// and scoring run once a second, or every interval when it is longer).
size_t intervals_per_span(double interval_s, double cadence_s = 1.0);

struct SpanSeries {
    std::vector<SeriesSample> series;  // the last interval's order, then series it lacked
    std::vector<double> max;           // per series: the highest interval value
    std::vector<uint32_t> present;     // per series: intervals of the span it was in
    size_t intervals = 0;              // intervals in the span

    // Counters as their mean per interval of presence (sum / present) instead of their sum:
    // the unit the anomaly scorer's baselines and its history seeds are in.
    void counters_per_interval();
};

class SeriesSpan {
  public:
    SeriesSpan() = default;
    // Not copyable: hints_ points into the map.
    SeriesSpan(const SeriesSpan&) = delete;
    SeriesSpan& operator=(const SeriesSpan&) = delete;

    // One interval's series; the daemon passes them in the same order interval after interval.
    // Gives each sample its key's id (SeriesSample::id), which the span's samples carry too.
    void add(std::span<SeriesSample> series);
    void add(std::vector<SeriesSample>&& series) { add(std::span<SeriesSample>(series)); }
    size_t intervals() const { return intervals_; }
    // The span so far, folded; starts the next span.
    SpanSeries take();

  private:
    struct Acc {
        MetricKind kind = MetricKind::gauge;
        double sum = 0, max = 0, last = 0;
        Log2Histogram hist;
        uint32_t present = 0;    // intervals of this span it was in
        uint64_t last_take = 0;  // the take() of the last span it was in
        uint64_t id = 0;         // SeriesSample::id of its key
    };
    using Map = std::unordered_map<SeriesKey, Acc, SeriesKeyHash>;
    static void emit(SpanSeries& out, const Map::value_type& node);

    Map accs_;
    SeriesHints<Map::value_type> hints_;        // by position in add()
    std::vector<Map::value_type*> last_order_;  // the last add()'s series
    uint64_t takes_ = 0;
    size_t intervals_ = 0;
};

}  // namespace perfbpf
