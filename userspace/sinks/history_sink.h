// `perfbpf query`'s output: the series a query returned, as text, JSON or CSV.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/history.h"

namespace perfbpf {

struct QueryRange {
    int64_t from_ms = 0, to_ms = 0, step_ms = 0;
};

// {"from_ms", "to_ms", "step_ms", "series": [{"metric", "labels": {...}, "kind", "tier",
// "points": [[ts_ms, value], ...]}]}; with a step each point is [ts_ms, value, min, max,
// count] (count: intervals merged into it).
nlohmann::json query_json(const std::vector<SeriesResult>& series, const QueryRange& range);
// For the dashboard's charts (GET /api/series): {"from_ms", "to_ms", "step_ms", "matched",
// "series": [{"metric", "labels", "kind", "tier", "per_second", "points": [[ts_ms, v]...]}]}
// with at most max_series series (matched says how many there were). Counters are per
// second (per_second true): a step's sum over max(step, interval_ms); histograms their p99
// in µs, as query() gives them.
nlohmann::json chart_json(const std::vector<SeriesResult>& series, const QueryRange& range,
                          int64_t interval_ms, size_t max_series);
// time (RFC 3339, UTC), series (metric{labels}), value: one row a point.
std::string query_csv(const std::vector<SeriesResult>& series);
// A block per series: its name and labels, kind and tier, then time and value lines.
std::string render_query(const std::vector<SeriesResult>& series, const QueryRange& range);

// "raw", "1m", "1h".
inline const char* tier_name(Tier t) {
    return kTierNames.name(t);
}
// metric{label="value",...} as a selector would name it.
std::string series_name(const SeriesKey& key);

}  // namespace perfbpf
