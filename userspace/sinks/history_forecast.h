// `perfbpf forecast`'s output: per series the value at the horizon with its interval and,
// given a threshold, when it is crossed; as text or JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "store/forecast_series.h"

namespace perfbpf {

std::string render_forecasts(const ForecastRun& run, int64_t horizon_ms);
// {"horizon_ms", "step_ms", "coverage", "series": [{"metric", "labels", "tier", "last",
// "error"} or {..., "from_ms", "at_ms", "value", "lo", "hi", "slope_per_day", "daily",
// "daily_share", "points", "backtests", "threshold": {"value", "source", "meaning",
// "already", "eta_ms", "early_ms", "late_ms"} (null: not within the horizon)}]}.
nlohmann::ordered_json forecasts_json(const ForecastRun& run, int64_t horizon_ms);

}  // namespace perfbpf
