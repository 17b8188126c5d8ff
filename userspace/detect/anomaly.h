// Anomalies per series: each series' value is scored against a robust baseline of its own
// recent past (median and MAD of the last `window` intervals), with its seasonal part (the
// same time of previous days and weeks, detect/seasonal.h) taken out once learned:
//
//   score = |x - seasonal(t) - median| / (spread + floor)
//
// The spread (robust_spread below) is 1.4826 MAD, which estimates the standard deviation of
// normal noise without being moved by the outliers it is meant to find, widened on the side
// where the series' usual bursts reach further. The floor comes from the metric's unit and level (1
// % CPU, 50 µs, 1 MiB, 5 % of the level...), so a flat series (MAD 0) does not alarm on a tiny
// move. A series is anomalous once its score exceeded `threshold` in k of the last n intervals, and
// back to normal after `clear_intervals` in band in a row.
//
// What is scored: gauges and levels as they are; counters by their per-interval value (what
// a SeriesSample holds); cumulative levels (psi_*_total_us) by their change per interval;
// histograms by their p99 in the interval (none when empty).
//
// The spread used is the lower of the latest and the one half a window ago, so a slow drift
// (or a step, in the intervals before it is detected) does not widen its own band; a louder
// noise is believed after half a window.
//
// Cost: the median and MAD are recomputed every `recompute_every` values (two
// nth_element over the window), series staggered so they do not all recompute in the same
// interval; each value in between costs a ring write and one division.
// Pure: no files, no clock; the caller passes timestamps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detect/seasonal.h"
#include "model/series.h"
#include "model/series_lookup.h"

namespace perfbpf {

struct AnomalyParams {
    int64_t interval_ms = 1000;
    size_t window = 600;          // recent values in the baseline: 10 min at 1 s
    size_t min_values = 60;       // a series is scored once it has this many
    size_t recompute_every = 10;  // values between recomputations of median and MAD
    double threshold = 6;         // score above this: out of band
    int k = 4;                    // anomalous: out of band in k of the last n intervals
    int n = 6;
    int clear_intervals = 30;           // in band this many in a row: over
    int64_t forget_after_ms = 900'000;  // a series not seen this long is dropped
};

// The smallest deviation that counts as one unit of score, for a metric in `unit` around
// `level` (its expected value): max(absolute, relative * |level|) by unit.
double noise_floor(std::string_view unit, double level);

// How far a window of values strays below and above its median: on each side the larger of
// the normal-noise estimate 1.4826 MAD and what the window's 1st or 99th percentile implies
// of a normal spread ((p50 - p1) / 2.326, (p99 - p50) / 2.326). A series whose ordinary
// bursts are heavier-tailed than normal noise (context switches, bytes written, a busy
// host's run-queue wait) is measured by its bursts, on their side only: a bursty series
// that drops to nothing is still seen.
struct Spread {
    float median = 0;
    float below = 0;
    float above = 0;
};
// Reorders `values`; all zeros when empty.
Spread robust_spread(std::span<float> values);

// The value a sample is scored on, given the previous raw value for cumulative series;
// false when it has none (an empty histogram, a cumulative series' first value).
struct ScoredValue {
    double value = 0;
    bool valid = false;
};

// One value's verdict, with what was expected as evidence.
struct Scoring {
    double observed = 0;
    double expected = 0;  // seasonal part + recent median
    double band_low = 0;  // expected -/+ threshold * (spread + floor): in band inside
    double band_high = 0;
    double score = 0;
    bool seasonal = false;  // the expectation included a seasonal profile
    bool scored = false;    // false while warming up (fewer than min_values)
};

// The baseline and state of one series.
class SeriesBaseline {
  public:
    SeriesBaseline(const AnomalyParams& p, std::string_view unit, MetricKind kind, bool cumulative,
                   size_t phase);

    // Scores a value at ts (in time order), then learns it.
    Scoring add(const AnomalyParams& p, int64_t ts_ms, double value, std::vector<float>& scratch);
    // Seasonal history: points of `span_ms` each (a tier's step), in time order, older than
    // anything added live; a cumulative series' points are its levels.
    void seed(const AnomalyParams& p, std::span<const std::pair<int64_t, double>> points,
              int64_t span_ms);

    // The value scored for a sample (change for cumulative series, p99 for histograms).
    ScoredValue scored_value(const SeriesSample& s, int64_t ts_ms, const AnomalyParams& p);

    bool anomalous() const { return anomalous_; }
    MetricKind kind() const { return kind_; }
    // Updates the k-of-n state; returns true when it flips.
    bool update_state(const AnomalyParams& p, bool out_of_band);
    int64_t last_seen_ms = 0;
    size_t bytes() const;

  private:
    void recompute(const AnomalyParams& p, std::vector<float>& scratch);
    void restart();

    std::string_view unit_;
    MetricKind kind_;
    bool cumulative_;
    std::vector<float> ring_;  // residuals (value - seasonal part), oldest overwritten
    size_t head_ = 0;
    size_t added_ = 0;  // values since the last recompute, starting at the phase
    Spread spread_;     // the one scores use: each side the lower of the latest and past_'s oldest
    // Spreads of the last half window, one per recompute: a drift that has filled half the
    // window widens the latest spread until the drift scores as noise; the spread from
    // before it began does not.
    std::vector<Spread> past_;
    size_t past_head_ = 0;
    bool have_baseline_ = false;
    SeasonalBaseline seasonal_;
    double prev_raw_ = 0;
    int64_t prev_raw_ms_ = -1;
    uint32_t out_bits_ = 0;  // last n intervals, 1 = out of band
    int in_band_run_ = 0;
    bool anomalous_ = false;
};

// A series' anomaly as it stands after an interval.
enum class AnomalyPhase : uint8_t { started, ongoing, ended };
struct SeriesAnomaly {
    const SeriesKey* key = nullptr;  // valid until the next feed
    MetricKind kind = MetricKind::gauge;
    AnomalyPhase phase = AnomalyPhase::ongoing;
    Scoring scoring;
};

// Baselines of every series fed, keyed by series.
class AnomalyScorer {
  public:
    explicit AnomalyScorer(AnomalyParams p = {}) : params_(p) {}
    // Movable (the map's nodes move with it), not copyable: hints_ points into it.
    AnomalyScorer(const AnomalyScorer&) = delete;
    AnomalyScorer& operator=(const AnomalyScorer&) = delete;
    AnomalyScorer(AnomalyScorer&&) = default;
    AnomalyScorer& operator=(AnomalyScorer&&) = default;

    // One interval's samples: every anomalous series (started, ongoing or ended this
    // interval). Series absent this interval keep their state.
    std::vector<SeriesAnomaly> feed(int64_t ts_ms, std::span<const SeriesSample> samples);
    // The same, per sample (the daemon's series arrive as a vector; tests feed one).
    void feed_one(int64_t ts_ms, const SeriesSample& s, std::vector<SeriesAnomaly>& out);
    // Ends the anomalies of series not seen since `ts_ms - forget_after_ms` and drops them.
    void forget_stale(int64_t ts_ms, std::vector<SeriesAnomaly>& out);

    // Seasonal history of a series, e.g. from History::query of its minute or hour tier:
    // (ts_ms, value) in time order, each value holding for span_ms. Values per interval, as
    // feed sees them: a counter's QueryPoint sum / count, a gauge's mean, a histogram's p99,
    // a level's last (a cumulative one is differenced here).
    void seed(const SeriesKey& key, MetricKind kind,
              std::span<const std::pair<int64_t, double>> points, int64_t span_ms);

    size_t series() const { return series_.size(); }
    size_t bytes() const;
    const AnomalyParams& params() const { return params_; }

  private:
    using Map = std::unordered_map<SeriesKey, SeriesBaseline, SeriesKeyHash>;
    Map::value_type& entry(const SeriesKey& key, MetricKind kind);
    void feed_at(size_t pos, int64_t ts_ms, const SeriesSample& s, std::vector<SeriesAnomaly>& out);

    AnomalyParams params_;
    Map series_;
    SeriesHints<Map::value_type> hints_;  // by position in feed()
    std::vector<float> scratch_;
    std::vector<SeriesKey> ended_keys_;  // keys of series dropped in forget_stale
    size_t next_phase_ = 0;
    int64_t last_sweep_ms_ = 0;
};

}  // namespace perfbpf
