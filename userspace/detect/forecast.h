// Forecasts of one series with prediction intervals: where will it be in a day, and when
// does it cross a limit. Pure: points in, numbers out (the forecast command reads history).
//
// Model: a robust trend (Theil–Sen slope over a bounded sample of point pairs, anchored on
// the median of the most recent points, so one outlier or an old step does not move it),
// plus a daily profile when the history spans at least two days and the profile explains
// enough of what the trend leaves. The interval is not derived from a noise model: the
// same method is run on the series' own past (forecasts from earlier origins, compared
// with what then happened), and those errors at each lead time give the band: their
// quantiles (split-conformal style), widened to a Student-t interval where overlapping
// backtests are worth only a few independent draws. So the band is as wide as the method
// has actually been wrong on this series, steps and random walks included
// (tests/unit/forecast_backtest_test.cpp measures how often it holds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace perfbpf {

struct ForecastPoint {
    int64_t ts_ms = 0;
    double value = 0;
};

struct ForecastOptions {
    int64_t horizon_ms = 24 * 3600 * 1000LL;
    double coverage = 0.9;  // of the prediction interval
    // A level to reach: when set, the forecast says when the series crosses it.
    std::optional<double> threshold;
    // Whether the threshold is crossed going up (a limit: already crossed when the level is
    // at or over it) or down. Unset: towards it from where the level is now.
    std::optional<bool> upward;
};

struct Crossing {
    bool already = false;  // the series is at or past the threshold now
    // Time from the last point until the threshold is crossed: by the central forecast,
    // and by the interval's edges (early: the edge nearest the threshold; late: the far
    // one). nullopt: not within the horizon.
    std::optional<int64_t> eta_ms, early_ms, late_ms;
};

struct Forecast {
    int64_t from_ms = 0;  // last point
    int64_t at_ms = 0;    // from_ms + horizon
    double value = 0, lo = 0, hi = 0;
    double slope_per_day = 0;          // trend
    bool daily = false;                // a daily profile is part of the model
    double daily_share = 0;            // share of the detrended variance the daily profile explains
    size_t points = 0;                 // points the forecast used
    size_t backtests = 0;              // past forecasts the interval was calibrated on
    std::optional<Crossing> crossing;  // when a threshold was given

    // The central value and the interval at `lead_ms` after from_ms (0 < lead <= horizon).
    struct Band {
        double value = 0, lo = 0, hi = 0;
    };
    Band at(int64_t lead_ms) const;

    // Calibrated interval offsets at increasing lead times (internal, for at()).
    struct Lead {
        int64_t lead_ms = 0;
        double err_lo = 0, err_hi = 0;
    };
    std::vector<Lead> leads;
    double anchor = 0;            // trend level at from_ms
    std::vector<double> profile;  // daily profile by slot (empty when not daily)
};

// How much history a forecast needs: twice the horizon (one horizon of fitting before the
// earliest backtest origin, one of realised future after it) and 20 points.
int64_t forecast_history_needed_ms(int64_t horizon_ms);
inline constexpr size_t kForecastMinPoints = 20;

// Points must be in time order. Errors: too little history (saying how much is needed),
// a horizon that is not positive, a coverage outside (0, 1).
Result<Forecast> forecast(std::span<const ForecastPoint> points, const ForecastOptions& opt);

// "3.2 d", "5.0 h", "12 min": a duration the way forecasts print it.
std::string forecast_duration(int64_t ms);

}  // namespace perfbpf
