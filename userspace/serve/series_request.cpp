#include "serve/series_request.h"

#include <algorithm>
#include <array>

#include "model/series_extract.h"

namespace perfbpf {

namespace {

std::string param(const std::map<std::string, std::string>& params, const std::string& name,
                  std::string fallback) {
    auto it = params.find(name);
    return it == params.end() ? std::move(fallback) : it->second;
}

}  // namespace

int64_t fit_step_ms(int64_t range_ms, int64_t min_step_ms) {
    constexpr int64_t s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
    static constexpr std::array<int64_t, 20> kSteps = {
        s,      2 * s,  5 * s, 10 * s, 15 * s, 30 * s, m,      2 * m, 5 * m, 10 * m,
        15 * m, 30 * m, h,     2 * h,  3 * h,  6 * h,  12 * h, d,     2 * d, 7 * d};
    const int64_t want = std::max((range_ms + kTargetPoints - 1) / kTargetPoints, min_step_ms);
    for (int64_t step : kSteps)
        if (step >= want) return step;
    return want;
}

Result<TimeRange> parse_time_range(const std::map<std::string, std::string>& params,
                                   int64_t now_ms) {
    auto from = parse_time_ms(param(params, "from", "-1h"), now_ms);
    if (!from) return fail("from: " + from.error().message);
    auto to = parse_time_ms(param(params, "to", "now"), now_ms);
    if (!to) return fail("to: " + to.error().message);
    if (*from >= *to) return fail("from must be before to");
    if (*to - *from > kMaxRangeMs)
        return fail("range: at most " + std::to_string(kMaxRangeMs / 86'400'000) + " days");
    return TimeRange{*from, *to};
}

Result<SeriesRequest> parse_series_request(const std::map<std::string, std::string>& params,
                                           int64_t now_ms, int64_t min_step_ms) {
    SeriesRequest r;
    auto text = param(params, "selector", "");
    if (text.empty()) return fail("selector: missing (for example selector=cpu_busy_pct)");
    auto sel = parse_selector(text);
    if (!sel) return fail("selector: " + sel.error().message);
    if (!sel->metric.empty() && sel->metric != "alert_state" && !find_metric(sel->metric))
        return fail("selector: no metric named " + sel->metric);
    r.selector = std::move(*sel);
    auto range_ms = parse_time_range(params, now_ms);
    if (!range_ms) return std::unexpected(range_ms.error());
    r.from_ms = range_ms->from_ms;
    r.to_ms = range_ms->to_ms;
    const int64_t range = r.to_ms - r.from_ms;
    if (auto it = params.find("step"); it != params.end()) {
        auto step = parse_duration_ms(it->second);
        if (!step) return fail("step: " + step.error().message);
        if (range / *step > kMaxPoints)
            return fail("step: " + it->second + " gives " + std::to_string(range / *step) +
                        " points over the range; at most " + std::to_string(kMaxPoints));
        r.step_ms = *step;
    } else {
        r.step_ms = fit_step_ms(range, min_step_ms);
    }
    return r;
}

}  // namespace perfbpf
