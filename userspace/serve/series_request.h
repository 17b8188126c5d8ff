// GET /api/series?selector=...&from=...&to=...&step=...: reading the query parameters into
// a history query, with a step that fits the range at about kTargetPoints points unless
// one is asked for. Every bad parameter is an error naming it, for a 400.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "model/selector.h"
#include "util/result.h"

namespace perfbpf {

inline constexpr int64_t kTargetPoints = 1000;
// An explicit step may ask for more, up to this many points a series.
inline constexpr int64_t kMaxPoints = 11'000;
// Beyond the hour tier's default retention (730 days) there is nothing to read.
inline constexpr int64_t kMaxRangeMs = 800 * 86'400'000LL;

struct SeriesRequest {
    Selector selector;
    int64_t from_ms = 0, to_ms = 0, step_ms = 0;
};

// The smallest of the steps a person reads easily (1s, 2s, 5s, ... 1h, ... 1d) that gives at
// most kTargetPoints points over range_ms and is not below min_step_ms (the daemon's
// interval: a finer step would only leave gaps).
int64_t fit_step_ms(int64_t range_ms, int64_t min_step_ms);

// from (default "-1h") and to (default "now"), times as parse_time_ms reads them: from
// before to, at most kMaxRangeMs apart. Errors name the parameter.
struct TimeRange {
    int64_t from_ms = 0, to_ms = 0;
};
Result<TimeRange> parse_time_range(const std::map<std::string, std::string>& params,
                                   int64_t now_ms);

// selector (required), from (default "-1h"), to (default "now"): times as parse_time_ms
// reads them; step: a duration, default fit_step_ms.
Result<SeriesRequest> parse_series_request(const std::map<std::string, std::string>& params,
                                           int64_t now_ms, int64_t min_step_ms);

}  // namespace perfbpf
