#include "detect/anomaly.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "model/series_extract.h"

namespace perfbpf {
namespace {

// A metric not in the catalogue (the alert rules' derived ones) by its name's suffix.
std::string_view unit_of(std::string_view metric) {
    if (const FieldInfo* f = find_metric(metric)) return f->unit;
    for (auto [suffix, unit] :
         {std::pair{"_pct", "pct"}, {"_us", "us"}, {"_ns", "ns"}, {"_bytes", "bytes"}}) {
        if (metric.ends_with(suffix)) return unit;
    }
    return "";
}

// PSI's stall totals are levels that only grow: what moves is their change.
bool is_cumulative(std::string_view metric, MetricKind kind) {
    return kind == MetricKind::level && metric.ends_with("_total_us");
}

}  // namespace

// The absolute parts are the smallest moves worth a look on their own (a tenth of a
// millisecond of latency would be noise on any disk; a process using 1 % more CPU is not an
// incident); the relative parts keep a large, steady value (a 4 GiB RSS, 200k context
// switches a second) from alarming on a few percent.
double noise_floor(std::string_view unit, double level) {
    struct Floor {
        std::string_view unit;
        double absolute, relative;
    };
    static constexpr Floor kFloors[] = {
        {"pct", 1.0, 0.05},  {"us", 50.0, 0.2}, {"ns", 1e6, 0.1},    {"bytes", 1 << 20, 0.05},
        {"pages", 256, 0.1}, {"count", 5, 0.1}, {"tasks", 0.5, 0.1}, {"segs", 10, 0.1},
    };
    double absolute = 1e-3, relative = 0.1;
    for (const Floor& f : kFloors) {
        if (f.unit == unit) {
            absolute = f.absolute;
            relative = f.relative;
            break;
        }
    }
    return std::max(absolute, relative * std::fabs(level));
}

SeriesBaseline::SeriesBaseline(const AnomalyParams& p, std::string_view unit, MetricKind kind,
                               bool cumulative, size_t phase)
    : unit_(unit), kind_(kind), cumulative_(cumulative), added_(phase % p.recompute_every) {}

ScoredValue SeriesBaseline::scored_value(const SeriesSample& s, int64_t ts_ms,
                                         const AnomalyParams& p) {
    if (kind_ == MetricKind::histogram) {
        if (s.hist.empty()) return {};
        return {s.hist.percentile_us(0.99), true};
    }
    if (!cumulative_) return {s.value, true};
    const bool have_prev = prev_raw_ms_ >= 0 && ts_ms > prev_raw_ms_ && s.value >= prev_raw_;
    const ScoredValue v{
        have_prev ? (s.value - prev_raw_) * double(p.interval_ms) / double(ts_ms - prev_raw_ms_)
                  : 0,
        have_prev};
    prev_raw_ = s.value;
    prev_raw_ms_ = ts_ms;
    return v;
}

Scoring SeriesBaseline::add(const AnomalyParams& p, int64_t ts_ms, double value,
                            std::vector<float>& scratch) {
    Scoring sc;
    sc.observed = value;
    const double seasonal = seasonal_.expected(ts_ms);
    sc.seasonal = seasonal_.source() != SeasonalBaseline::Source::none;
    const double residual = value - seasonal;
    sc.expected = seasonal + spread_.median;
    if (have_baseline_) {
        const double floor = noise_floor(unit_, sc.expected);
        const double below = spread_.below + floor, above = spread_.above + floor;
        const double d = residual - spread_.median;
        sc.score = d >= 0 ? d / above : -d / below;
        sc.band_low = sc.expected - p.threshold * below;
        sc.band_high = sc.expected + p.threshold * above;
        sc.scored = true;
    }
    if (ring_.size() < p.window) {
        if (ring_.empty()) ring_.reserve(p.window);
        ring_.push_back(float(residual));
    } else {
        ring_[head_] = float(residual);
        head_ = (head_ + 1) % ring_.size();
    }
    seasonal_.learn(ts_ms, p.interval_ms, value);
    const bool warm = ring_.size() >= p.min_values;
    if (++added_ >= p.recompute_every || (warm && !have_baseline_)) {
        added_ = 0;
        // Residuals taken against another seasonal source mean something else: start over.
        if (seasonal_.refresh_source()) {
            restart();
        } else if (warm) {
            recompute(p, scratch);
        }
    }
    return sc;
}

Spread robust_spread(std::span<float> v) {
    if (v.empty()) return {};
    const auto at = [&](double q) { return v.begin() + std::ptrdiff_t(q * double(v.size() - 1)); };
    const auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    Spread s;
    s.median = *mid;
    // Each tail's percentile lies on its side of the median: search only there.
    const auto hi = std::max(at(0.99), mid), lo = std::min(at(0.01), mid);
    std::nth_element(mid, hi, v.end());
    const float p99 = *hi;
    std::nth_element(v.begin(), lo, mid);
    const float p1 = *lo;
    for (float& x : v) x = std::fabs(x - s.median);
    std::nth_element(v.begin(), mid, v.end());
    const float normal = 1.4826F * *mid;
    constexpr float kZ99 = 2.326F;
    s.below = std::max(normal, (s.median - p1) / kZ99);
    s.above = std::max(normal, (p99 - s.median) / kZ99);
    return s;
}

void SeriesBaseline::recompute(const AnomalyParams& p, std::vector<float>& scratch) {
    scratch.assign(ring_.begin(), ring_.end());
    const Spread latest = robust_spread(scratch);
    const size_t keep = std::max<size_t>(1, p.window / p.recompute_every / 2);
    Spread oldest = latest;
    if (past_.size() < keep) {
        if (past_.empty()) past_.reserve(keep);
        oldest = past_.empty() ? latest : past_.front();
        past_.push_back(latest);
    } else {
        oldest = past_[past_head_];
        past_[past_head_] = latest;
        past_head_ = (past_head_ + 1) % past_.size();
    }
    spread_ = {latest.median, std::min(latest.below, oldest.below),
               std::min(latest.above, oldest.above)};
    have_baseline_ = true;
}

void SeriesBaseline::seed(const AnomalyParams& p,
                          std::span<const std::pair<int64_t, double>> points, int64_t span_ms) {
    for (size_t i = 0; i < points.size(); ++i) {
        auto [ts, v] = points[i];
        if (cumulative_) {
            if (i == 0 || v < points[i - 1].second || ts <= points[i - 1].first) continue;
            v = (v - points[i - 1].second) * double(p.interval_ms) /
                double(ts - points[i - 1].first);
        }
        seasonal_.learn(ts, span_ms, v);
    }
    if (seasonal_.refresh_source()) restart();
}

void SeriesBaseline::restart() {
    ring_.clear();
    head_ = 0;
    past_.clear();
    past_head_ = 0;
    have_baseline_ = false;
}

bool SeriesBaseline::update_state(const AnomalyParams& p, bool out_of_band) {
    const uint32_t mask = p.n >= 32 ? ~0U : (1U << p.n) - 1;
    out_bits_ = ((out_bits_ << 1) | (out_of_band ? 1U : 0U)) & mask;
    if (!anomalous_) {
        if (std::popcount(out_bits_) < p.k) return false;
        anomalous_ = true;
        in_band_run_ = 0;
        return true;
    }
    in_band_run_ = out_of_band ? 0 : in_band_run_ + 1;
    if (in_band_run_ < p.clear_intervals) return false;
    anomalous_ = false;
    out_bits_ = 0;
    return true;
}

size_t SeriesBaseline::bytes() const {
    return sizeof(*this) + ring_.capacity() * sizeof(float) + past_.capacity() * sizeof(Spread) +
           seasonal_.bytes();
}

AnomalyScorer::Map::value_type& AnomalyScorer::entry(const SeriesKey& key, MetricKind kind) {
    auto it = series_.find(key);
    if (it != series_.end()) return *it;
    return *series_
                .try_emplace(key, params_, unit_of(key.metric), kind,
                             is_cumulative(key.metric, kind), next_phase_++)
                .first;
}

void AnomalyScorer::feed_one(int64_t ts_ms, const SeriesSample& s,
                             std::vector<SeriesAnomaly>& out) {
    // Past any position feed() uses, so the hint there is never taken.
    feed_at(SIZE_MAX, ts_ms, s, out);
}

void AnomalyScorer::feed_at(size_t pos, int64_t ts_ms, const SeriesSample& s,
                            std::vector<SeriesAnomaly>& out) {
    auto* node = hints_.find(pos, s.key, s.id);
    if (!node) {
        node = &entry(s.key, s.kind);
        if (pos != SIZE_MAX) hints_.remember(pos, node, s.id);
    }
    SeriesBaseline& b = node->second;
    b.last_seen_ms = ts_ms;
    const ScoredValue v = b.scored_value(s, ts_ms, params_);
    if (!v.valid) return;
    const Scoring sc = b.add(params_, ts_ms, v.value, scratch_);
    const bool flipped = b.update_state(params_, sc.scored && sc.score > params_.threshold);
    if (!flipped && !b.anomalous()) return;
    const AnomalyPhase phase = !flipped        ? AnomalyPhase::ongoing
                               : b.anomalous() ? AnomalyPhase::started
                                               : AnomalyPhase::ended;
    out.push_back({&node->first, s.kind, phase, sc});
}

std::vector<SeriesAnomaly> AnomalyScorer::feed(int64_t ts_ms,
                                               std::span<const SeriesSample> samples) {
    std::vector<SeriesAnomaly> out;
    for (size_t i = 0; i < samples.size(); ++i) feed_at(i, ts_ms, samples[i], out);
    if (ts_ms - last_sweep_ms_ >= 60'000) forget_stale(ts_ms, out);
    return out;
}

void AnomalyScorer::forget_stale(int64_t ts_ms, std::vector<SeriesAnomaly>& out) {
    last_sweep_ms_ = ts_ms;
    ended_keys_.clear();
    hints_.clear();
    std::vector<std::pair<MetricKind, Scoring>> ended;
    for (auto it = series_.begin(); it != series_.end();) {
        if (ts_ms - it->second.last_seen_ms < params_.forget_after_ms) {
            ++it;
            continue;
        }
        if (it->second.anomalous()) {
            ended_keys_.push_back(it->first);
            ended.push_back({it->second.kind(), Scoring{}});
        }
        it = series_.erase(it);
    }
    for (size_t i = 0; i < ended_keys_.size(); ++i)
        out.push_back({&ended_keys_[i], ended[i].first, AnomalyPhase::ended, ended[i].second});
}

void AnomalyScorer::seed(const SeriesKey& key, MetricKind kind,
                         std::span<const std::pair<int64_t, double>> points, int64_t span_ms) {
    entry(key, kind).second.seed(params_, points, span_ms);
}

size_t AnomalyScorer::bytes() const {
    size_t total = scratch_.capacity() * sizeof(float);
    for (const auto& [key, b] : series_) {
        total += b.bytes() + key.metric.capacity();
        for (const auto& [n, v] : key.labels) total += n.capacity() + v.capacity();
    }
    return total;
}

}  // namespace perfbpf
