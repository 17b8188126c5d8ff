// `perfbpf forecast`'s output: per series the value at the horizon with its interval and,
// given a threshold, when it is crossed; as text or JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "store/forecast_series.h"

namespace perfbpf {

std::string render_forecasts(const ForecastRun& run, int64_t horizon_ms);
// A value in a catalogue unit, to four significant digits for bytes ("30.12 GiB").
std::string forecast_value_text(double v, std::string_view unit);
// One line of where a series goes within the horizon: its limit and when it is crossed
// ("vda1 full (fs_size_bytes 250.0 GiB) in 3.2 d (90 %: 2.5 d–4.1 d)"), else its value at the
// horizon with the interval; or why there is no forecast.
std::string forecast_outlook(const SeriesForecast& s, double coverage, int64_t horizon_ms);
// {"horizon_ms", "step_ms", "coverage", "series": [{"metric", "labels", "tier", "last",
// "error"} or {..., "from_ms", "at_ms", "value", "lo", "hi", "slope_per_day", "daily",
// "daily_share", "points", "backtests", "threshold": {"value", "source", "meaning",
// "already", "eta_ms", "early_ms", "late_ms"} (null: not within the horizon)}]}.
nlohmann::ordered_json forecasts_json(const ForecastRun& run, int64_t horizon_ms);

}  // namespace perfbpf
