// `perfbpf forecast`, the command, on a history the test writes with the History API (no
// probes; here because it runs the built binary): the filling filesystem is forecast full
// in about a day with the filesystem's size as the limit, in JSON and text; too little
// history is exit 1 saying how much is needed; bad input one line and exit 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "../unit/filling_fs_history.h"
#include "support.h"

namespace perfbpf {
namespace {

constexpr double kHourMs = 3'600'000;

class ForecastCli : public testing::Test {
  protected:
    void SetUp() override {
        auto h = History::open(dir_.path());
        ASSERT_TRUE(h) << h.error().message;
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        test::write_filling_fs_history(*h, now / 60'000 * 60'000, 5);
    }
    std::string run(const std::string& args, int& status) {
        return test::run_perfbpf("forecast " + args + " --state-dir " + dir_.path() + " 2>&1",
                                 &status);
    }
    test::TempDir dir_;
};

TEST_F(ForecastCli, AFillingFilesystemIsForecastFullInADay) {
    int status = -1;
    const std::string sel = "'fs_used_bytes{mountpoint=\"/data\"}' --horizon 2d";
    const std::string out = run(sel + " --json", status);
    ASSERT_EQ(status, 0) << out;
    const auto j = nlohmann::json::parse(out);
    ASSERT_EQ(j["series"].size(), 1u) << out;
    const auto& s = j["series"][0];
    EXPECT_EQ(s["labels"]["device"], "vdb1");
    EXPECT_NEAR(s["value"].get<double>(), 108e9, 1.5e9) << out;
    const auto& t = s["threshold"];
    EXPECT_EQ(t["source"], "fs_size_bytes") << out;
    EXPECT_EQ(t["meaning"], "vdb1 full");
    ASSERT_TRUE(t["eta_ms"].is_number() && t["early_ms"].is_number() && t["late_ms"].is_number())
        << out;
    EXPECT_NEAR(t["eta_ms"].get<double>(), 24 * kHourMs, 3 * kHourMs) << out;
    EXPECT_LE(t["early_ms"].get<double>(), t["eta_ms"].get<double>());
    EXPECT_GE(t["late_ms"].get<double>(), t["eta_ms"].get<double>());

    const std::string text = run(sel, status);
    EXPECT_EQ(status, 0) << text;
    EXPECT_NE(text.find("vdb1 full (fs_size_bytes 93.1 GiB) in 2"), std::string::npos) << text;
}

TEST_F(ForecastCli, TooLittleHistoryIsExit1AndBadInputExit2) {
    int status = -1;
    std::string out = run("fs_used_bytes --horizon 7d", status);
    EXPECT_EQ(status, 1) << out;
    EXPECT_NE(out.find("needs 14.0 d of history"), std::string::npos) << out;
    for (const std::string args :
         {"no_such_metric", "fs_used_bytes --horizon soon", "read_bytes", "cpu_busy_pct --to-limit",
          "fs_used_bytes --threshold 5 --to-limit"}) {
        out = run(args, status);
        EXPECT_EQ(status, 2) << args << ": " << out;
        EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << args << ": " << out;
    }
}

}  // namespace
}  // namespace perfbpf
