// Forecasts of the series in the history: which points to read (tier, step, how far
// back), which limit each series runs to, and the forecast of each (detect/forecast.h).
// `perfbpf forecast` is this plus formatting.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detect/forecast.h"
#include "model/selector.h"
#include "store/history.h"

namespace perfbpf {

struct SeriesForecast {
    SeriesKey key;
    std::string_view unit;  // the catalogue's: "bytes", "pct", "count", ...
    Tier tier = Tier::raw;
    double last = 0;  // the newest point's value
    std::optional<Forecast> forecast;
    std::string error;  // why there is no forecast (too little history)
    std::optional<double> threshold;
    // What the threshold is ("fs_size_bytes", "memory_max_bytes", "--threshold") and what
    // crossing it means ("vda1 full", "/app.slice at memory.max", "threshold reached").
    std::string threshold_source, threshold_meaning;
};

struct ForecastQuery {
    Selector selector;  // its metric a level or gauge of the catalogue
    int64_t horizon_ms = 0;
    int64_t now_ms = 0;
    // A threshold for every series; unset: each series' limit where it has one.
    std::optional<double> threshold;
};

struct ForecastRun {
    int64_t lookback_ms = 0, step_ms = 0;
    double coverage = 0;
    std::vector<SeriesForecast> series;  // those with points in the lookback
};

// History read: four horizons (two are needed, more calibrate the interval better), at
// least a week so a daily cycle can show, in whole-minute steps (so the minute or hour tier
// answers) of at most 2,000 points, or a fiftieth of the horizon where that is finer.
int64_t forecast_lookback_ms(int64_t horizon_ms);
int64_t forecast_step_ms(int64_t lookback_ms, int64_t horizon_ms);

Result<ForecastRun> forecast_history(History& history, const ForecastQuery& q);

}  // namespace perfbpf
