// Backtests of the forecasts on synthetic series of the shapes perfbpf forecasts: from
// many origins, forecast 24 h ahead with a 90 % interval and count how often the value
// that then came lies inside. Printed as the table in the README's "Forecasts" section
// (--gtest_filter='ForecastBacktest*').
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "detect/forecast.h"

namespace perfbpf {
namespace {

constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kStart = 1'767'225'600'000;  // a midnight UTC
constexpr int64_t kStep = 10 * kMin;
constexpr int64_t kSpan = 9 * kDay;
constexpr int kSeeds = 30;
// Forecast origins in each series: after 4 to 8 days of history.
constexpr int64_t kOrigins[] = {4 * kDay, 5 * kDay + 7 * kHour, 6 * kDay + 13 * kHour,
                                7 * kDay + 3 * kHour, 8 * kDay};

using Rng = std::mt19937_64;

double two_pi_day(int64_t t) {
    return 2 * std::numbers::pi * static_cast<double>(t) / kDay;
}

// One series: a value every kStep over kSpan.
using Generator = std::function<std::vector<double>(Rng&)>;

std::vector<double> make(Rng& rng, const std::function<double(int64_t, Rng&)>& at) {
    std::vector<double> v;
    for (int64_t t = 0; t <= kSpan; t += kStep) v.push_back(at(t, rng));
    return v;
}

struct Kind {
    const char* name;
    const char* unit;
    double scale;  // unit / raw value, for printing
    Generator gen;
};

std::vector<Kind> kinds() {
    return {
        {"linear growth + noise", "GB", 1e-9,
         [](Rng& rng) {
             const double per_day = std::uniform_real_distribution<double>(0.2e9, 2e9)(rng);
             std::normal_distribution<double> noise(0, 0.15e9);
             return make(rng, [&](int64_t t, Rng& r) {
                 return 20e9 + per_day * static_cast<double>(t) / kDay + noise(r);
             });
         }},
        {"daily cycle + trend", "%", 1,
         [](Rng& rng) {
             const double amp = std::uniform_real_distribution<double>(10, 30)(rng);
             const double phase = std::uniform_real_distribution<double>(0, 6.28)(rng);
             const double per_day = std::uniform_real_distribution<double>(-2, 4)(rng);
             std::normal_distribution<double> noise(0, 3);
             return make(rng, [&](int64_t t, Rng& r) {
                 return 40 + per_day * static_cast<double>(t) / kDay +
                        amp * std::sin(two_pi_day(t) + phase) + noise(r);
             });
         }},
        {"level steps", "GB", 1e-9,
         [](Rng& rng) {
             // A deploy or a cleanup every 2 days on average, moving the level by ~2 GB.
             std::bernoulli_distribution step(static_cast<double>(kStep) / (2.0 * kDay));
             std::normal_distribution<double> size(0.5e9, 2e9), noise(0, 0.1e9);
             double level = 50e9;
             return make(rng, [&](int64_t, Rng& r) {
                 if (step(r)) level += size(r);
                 return level + noise(r);
             });
         }},
        {"random-walk leak", "MB", 1e-6,
         [](Rng& rng) {
             // RSS that grows 40 MB a day on average in uneven increments, sometimes
             // giving some back.
             std::normal_distribution<double> inc(40e6 * kStep / kDay, 3e6);
             double rss = 300e6;
             return make(rng, [&](int64_t, Rng& r) {
                 rss += inc(r);
                 return rss;
             });
         }},
        {"filling disk", "GB", 1e-9,
         [](Rng& rng) {
             // Writes by day, little at night; log rotation frees some at midnight.
             const double per_day = std::uniform_real_distribution<double>(1e9, 5e9)(rng);
             std::normal_distribution<double> jitter(1, 0.3);
             double used = 100e9;
             return make(rng, [&](int64_t t, Rng& r) {
                 const double rate = std::max(0.0, 1 - std::cos(two_pi_day(t))) * jitter(r);
                 used += per_day * rate * static_cast<double>(kStep) / kDay;
                 if (t % kDay == 0 && t > 0) used -= 0.2 * per_day;
                 return used;
             });
         }},
    };
}

std::vector<ForecastPoint> points(const std::vector<double>& v, size_t n) {
    std::vector<ForecastPoint> out;
    for (size_t i = 0; i < n && i < v.size(); ++i)
        out.push_back({kStart + static_cast<int64_t>(i) * kStep, v[i]});
    return out;
}

struct Row {
    std::string name, unit;
    int trials = 0, inside = 0;
    double median_abs_err = 0, median_width = 0;
    int daily = 0;
    double coverage() const { return trials ? 100.0 * inside / trials : 0; }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

Row backtest(const Kind& k) {
    Row row{k.name, k.unit};
    std::vector<double> errs, widths;
    for (int seed = 0; seed < kSeeds; ++seed) {
        Rng rng(1000 + static_cast<uint64_t>(seed));
        const std::vector<double> v = k.gen(rng);
        for (int64_t origin : kOrigins) {
            const auto n = static_cast<size_t>(origin / kStep) + 1;
            const auto pts = points(v, n);
            ForecastOptions o;
            o.horizon_ms = kDay;
            auto f = forecast(pts, o);
            EXPECT_TRUE(f) << f.error().message;
            if (!f) continue;
            const double actual = v[static_cast<size_t>((origin + kDay) / kStep)];
            ++row.trials;
            row.inside += actual >= f->lo && actual <= f->hi;
            row.daily += f->daily;
            errs.push_back(std::abs(actual - f->value) * k.scale);
            widths.push_back((f->hi - f->lo) * k.scale);
        }
    }
    row.median_abs_err = median(errs);
    row.median_width = median(widths);
    return row;
}

TEST(ForecastBacktest, NinetyPercentIntervalsHoldTheRealisedValue85To95PercentOfTheTime) {
    std::vector<Row> rows;
    int trials = 0, inside = 0;
    for (const Kind& k : kinds()) {
        rows.push_back(backtest(k));
        trials += rows.back().trials;
        inside += rows.back().inside;
    }
    std::printf(
        "| series (24 h ahead, 10-min points, 4-8 d of history) | n | inside 90 %% "
        "interval | median abs error | median interval width | daily term used |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (const Row& r : rows)
        std::printf("| %s | %d | %.1f %% | %.2f %s | %.2f %s | %d %% |\n", r.name.c_str(), r.trials,
                    r.coverage(), r.median_abs_err, r.unit.c_str(), r.median_width, r.unit.c_str(),
                    r.trials ? 100 * r.daily / r.trials : 0);
    const double all = 100.0 * inside / trials;
    std::printf("| all | %d | %.1f %% | | | |\n", trials, all);
    for (const Row& r : rows) {
        EXPECT_GE(r.coverage(), 85.0) << r.name;
        EXPECT_LE(r.coverage(), 95.0) << r.name;
    }
    EXPECT_GE(all, 85.0);
    EXPECT_LE(all, 95.0);
}

// When does a filling disk reach a level it gets to 1.5 days after the origin: the realised
// time must fall within the forecast's [early, late] as often as the band holds values.
TEST(ForecastBacktest, TheRealisedCrossingOfAFillingDiskFallsInsideTheCrossingInterval) {
    const Kind disk = kinds().back();
    ASSERT_STREQ(disk.name, "filling disk");
    constexpr int64_t kHorizon = 3 * kDay;
    constexpr int64_t kOrigin = 6 * kDay;  // two horizons of history, one of outcome
    constexpr int kCrossSeeds = 60;
    int inside = 0, trials = 0;
    std::vector<double> errs_h, widths_h;
    for (int seed = 0; seed < kCrossSeeds; ++seed) {
        Rng rng(5000 + static_cast<uint64_t>(seed));
        const std::vector<double> v = disk.gen(rng);
        const auto o = static_cast<size_t>(kOrigin / kStep);
        const double threshold = v[o + static_cast<size_t>(36 * kHour / kStep)];
        ForecastOptions opt;
        opt.horizon_ms = kHorizon;
        opt.threshold = threshold;
        opt.upward = true;
        auto f = forecast(points(v, o + 1), opt);
        ASSERT_TRUE(f && f->crossing) << (f ? "" : f.error().message);
        size_t i = o + 1;
        while (v[i] < threshold) ++i;
        const int64_t realised = static_cast<int64_t>(i - o) * kStep;
        const Crossing& c = *f->crossing;
        ++trials;
        inside += c.early_ms && *c.early_ms <= realised && (!c.late_ms || realised <= *c.late_ms);
        if (c.eta_ms) errs_h.push_back(std::abs(static_cast<double>(*c.eta_ms - realised)) / kHour);
        if (c.early_ms && c.late_ms)
            widths_h.push_back(static_cast<double>(*c.late_ms - *c.early_ms) / kHour);
    }
    const double coverage = 100.0 * inside / trials;
    std::printf(
        "| filling disk: time to a level 1.5 d ahead (3 d horizon, 6 d of history) | %d | "
        "%.1f %% | %.1f h | %.1f h | |\n",
        trials, coverage, median(errs_h), median(widths_h));
    // The crossing interval is where the band's edges cross: at least as wide as the
    // band's coverage asks, so only its lower end is asserted.
    EXPECT_GE(coverage, 85.0);
}

}  // namespace
}  // namespace perfbpf
