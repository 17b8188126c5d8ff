#include "store/forecast_series.h"

#include <algorithm>

#include "detect/forecast_limits.h"
#include "model/series_extract.h"

namespace perfbpf {
namespace {

constexpr int64_t kMaxPoints = 2000;
constexpr int64_t kMinLookbackMs = 7 * 86'400'000LL;
// A short horizon wants finer steps than the week's 2,000 points give (an hour ahead in
// 6-minute steps is ten points): at least this many points per horizon.
constexpr int64_t kMinPointsPerHorizon = 50;

Selector exact(const SeriesKey& key) {
    Selector s;
    s.metric = key.metric;
    for (const auto& [k, v] : key.labels) s.matchers.push_back({k, LabelMatcher::Op::eq, v, {}});
    return s;
}

// The newest value of exactly this series (not one with more labels) in [from, to].
std::optional<double> newest(History& h, const SeriesKey& key, int64_t from, int64_t to,
                             int64_t step) {
    auto r = h.query(exact(key), from, to, step);
    if (!r) return std::nullopt;
    for (const auto& s : *r)
        if (s.key.labels.size() == key.labels.size() && !s.points.empty())
            return s.points.back().value;
    return std::nullopt;
}

void apply_limit(History& h, const LimitRule& rule, int64_t from, int64_t to, int64_t step,
                 SeriesForecast& out) {
    if (rule.constant) {
        out.threshold = *rule.constant;
        out.threshold_source = "limit";
        out.threshold_meaning = rule.constant_meaning;
        return;
    }
    for (const auto& c : rule.candidates) {
        auto v = newest(h, c.series, from, to, step);
        if (!v || *v <= 0) continue;  // memory.high "max", btrfs's 0 inodes
        out.threshold = *v;
        out.threshold_source = c.series.metric;
        out.threshold_meaning = c.meaning;
        return;
    }
}

}  // namespace

int64_t forecast_lookback_ms(int64_t horizon_ms) {
    return std::max(4 * horizon_ms, kMinLookbackMs);
}

int64_t forecast_step_ms(int64_t lookback_ms, int64_t horizon_ms) {
    const int64_t step = std::min(lookback_ms / kMaxPoints, horizon_ms / kMinPointsPerHorizon);
    return (step / 60'000 + 1) * 60'000;
}

Result<ForecastRun> forecast_history(History& history, const ForecastQuery& q) {
    const FieldInfo* info = find_metric(q.selector.metric);
    if (!info) return fail("unknown metric " + q.selector.metric);
    ForecastRun run;
    run.lookback_ms = forecast_lookback_ms(q.horizon_ms);
    run.step_ms = forecast_step_ms(run.lookback_ms, q.horizon_ms);
    run.coverage = ForecastOptions{}.coverage;
    const int64_t from = q.now_ms - run.lookback_ms;
    auto series = history.query(q.selector, from, q.now_ms, run.step_ms);
    if (!series) return fail(series.error().message);
    for (const SeriesResult& s : *series) {
        if (s.points.empty()) continue;
        SeriesForecast sf;
        sf.key = s.key;
        sf.unit = info->unit;
        sf.tier = s.tier;
        sf.last = s.points.back().value;
        ForecastOptions fo;
        fo.horizon_ms = q.horizon_ms;
        if (q.threshold) {
            sf.threshold = q.threshold;
            sf.threshold_source = "--threshold";
            sf.threshold_meaning = "threshold reached";
        } else if (auto rule = limit_rule(s.key)) {
            apply_limit(history, *rule, from, q.now_ms, run.step_ms, sf);
            fo.upward = rule->upward;
        }
        fo.threshold = sf.threshold;
        std::vector<ForecastPoint> pts;
        pts.reserve(s.points.size());
        for (const auto& p : s.points) pts.push_back({p.ts_ms, p.value});
        if (auto f = forecast(pts, fo))
            sf.forecast = std::move(*f);
        else
            sf.error = f.error().message;
        run.series.push_back(std::move(sf));
    }
    return run;
}

}  // namespace perfbpf
