// Forecasts of series in a history the test writes with the History API: a filesystem that
// fills 8 GB a day, 8 GB short of full, must be forecast full in about a day, with the
// filesystem's size found as the limit on its own; what `perfbpf forecast` prints of it.
#include <gtest/gtest.h>

#include <optional>

#include "filling_fs_history.h"
#include "sinks/history_forecast.h"
#include "store/forecast_series.h"
#include "store_test_support.h"

namespace perfbpf {
namespace {

constexpr int64_t kMin = 60'000;
constexpr int64_t kDay = 1440 * kMin;
constexpr int64_t kNow = test::kT0 + 10 * kDay;

// Five days of the filesystems above in a fresh state dir.
class ForecastHistory : public testing::Test {
  protected:
    void SetUp() override {
        auto opened = History::open(dir_.path());
        ASSERT_TRUE(opened) << opened.error().message;
        h.emplace(std::move(*opened));
        test::write_filling_fs_history(*h, kNow, 5);
    }
    test::StateDir dir_;
    std::optional<History> h;
};

ForecastQuery query(const std::string& selector, int64_t horizon_ms) {
    ForecastQuery q;
    q.selector = *parse_selector(selector);
    q.horizon_ms = horizon_ms;
    q.now_ms = kNow;
    return q;
}

TEST_F(ForecastHistory, AFillingFilesystemIsForecastFullInADayWithinItsInterval) {
    auto run = forecast_history(*h, query("fs_used_bytes{mountpoint=\"/data\"}", 2 * kDay));
    ASSERT_TRUE(run) << run.error().message;
    EXPECT_EQ(run->lookback_ms, 8 * kDay);
    EXPECT_EQ(run->step_ms, 6 * kMin);
    // An hour ahead reads the week in 2-minute steps, 30 points per horizon.
    EXPECT_EQ(forecast_step_ms(forecast_lookback_ms(60 * kMin), 60 * kMin), 2 * kMin);
    ASSERT_EQ(run->series.size(), 1u);
    const SeriesForecast& s = run->series[0];
    ASSERT_TRUE(s.forecast) << s.error;
    const Forecast& f = *s.forecast;
    EXPECT_NEAR(s.last, 92e9, 0.5e9);
    EXPECT_NEAR(f.value, 108e9, 1.5e9);
    EXPECT_LE(f.lo, f.value);
    EXPECT_GE(f.hi, f.value);
    EXPECT_NEAR(f.slope_per_day, 8e9, 0.5e9);
    ASSERT_EQ(s.threshold, 100e9);
    EXPECT_EQ(s.threshold_source, "fs_size_bytes");
    EXPECT_EQ(s.threshold_meaning, "vdb1 full");
    ASSERT_TRUE(f.crossing && f.crossing->eta_ms && f.crossing->early_ms && f.crossing->late_ms);
    EXPECT_FALSE(f.crossing->already);
    EXPECT_NEAR(static_cast<double>(*f.crossing->eta_ms), kDay, 3 * 60 * kMin);
    EXPECT_LE(*f.crossing->early_ms, *f.crossing->eta_ms);
    EXPECT_GE(*f.crossing->late_ms, *f.crossing->eta_ms);

    const std::string text = render_forecasts(*run, 2 * kDay);
    EXPECT_NE(text.find("fs_used_bytes{device=\"vdb1\",mountpoint=\"/data\"}"), std::string::npos)
        << text;
    EXPECT_NE(text.find("vdb1 full (fs_size_bytes 93.1 GiB) in 2"), std::string::npos) << text;
    EXPECT_NE(text.find(" h (90 %: 2"), std::string::npos) << text;
    const auto j = forecasts_json(*run, 2 * kDay);
    EXPECT_EQ(j["series"][0]["threshold"]["source"], "fs_size_bytes");
    EXPECT_EQ(j["series"][0]["threshold"]["eta_ms"], *f.crossing->eta_ms);
    std::printf("%s", text.c_str());
}

TEST_F(ForecastHistory, AFlatFilesystemIsNotForecastToFillAndAnExplicitThresholdWins) {
    auto run = forecast_history(*h, query("fs_used_bytes", kDay));
    ASSERT_TRUE(run) << run.error().message;
    ASSERT_EQ(run->series.size(), 2u);
    for (const SeriesForecast& s : run->series) {
        ASSERT_TRUE(s.forecast && s.forecast->crossing) << s.error;
        if (s.key.labels == test::kFlatFs) {
            EXPECT_FALSE(s.forecast->crossing->eta_ms);
            EXPECT_NE(render_forecasts(*run, kDay)
                          .find("vda1 full (fs_size_bytes 18.6 GiB): not "
                                "within 24.0 h"),
                      std::string::npos);
        }
    }
    auto q = query("fs_used_bytes{mountpoint=\"/\"}", kDay);
    q.threshold = 4e9;  // below the level: crossed on the way down, which / never goes
    auto low = forecast_history(*h, q);
    ASSERT_TRUE(low && low->series.size() == 1 && low->series[0].forecast);
    EXPECT_EQ(low->series[0].threshold_source, "--threshold");
    EXPECT_FALSE(low->series[0].forecast->crossing->eta_ms);
}

TEST_F(ForecastHistory, TooLittleHistoryIsPerSeries) {
    auto run = forecast_history(*h, query("fs_used_bytes{mountpoint=\"/data\"}", 7 * kDay));
    ASSERT_TRUE(run) << run.error().message;
    ASSERT_EQ(run->series.size(), 1u);
    EXPECT_FALSE(run->series[0].forecast);
    EXPECT_NE(run->series[0].error.find("needs 14.0 d of history"), std::string::npos)
        << run->series[0].error;
    EXPECT_TRUE(forecasts_json(*run, 7 * kDay)["series"][0].contains("error"));
}

}  // namespace
}  // namespace perfbpf
