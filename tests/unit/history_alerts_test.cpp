#include "sinks/history_alerts.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

SeriesResult state_series(const std::string& severity,
                          std::vector<std::pair<int64_t, double>> pts) {
    SeriesResult s;
    s.key = {"alert_state",
             {{"alert", "disk_latency_p99"}, {"device", "sda"}, {"severity", severity}}};
    s.kind = MetricKind::level;
    for (auto [ts, v] : pts) {
        QueryPoint p;
        p.ts_ms = ts;
        p.value = v;
        s.points.push_back(p);
    }
    return s;
}

TEST(HistoryAlerts, EpisodesFromAlertStateSeries) {
    // warning fired at 1 s, resolved at 3 s, fired again at 10 s and still firing at 12 s;
    // critical from 5 s to 6 s, whose series stops there without a 0 long ago.
    std::vector<SeriesResult> series = {
        state_series("warning", {{1000, 1}, {2000, 1}, {3000, 0}, {10'000, 1}, {12'000, 1}}),
        state_series("critical", {{5000, 1}, {6000, 1}})};
    auto e = alert_episodes(series, 12'500, 5000);
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ(e[0].end_ms, 0);  // active first
    EXPECT_EQ(e[0].start_ms, 10'000);
    EXPECT_EQ(e[0].object, (Labels{{"device", "sda"}}));
    EXPECT_EQ(e[1].severity, "critical");
    EXPECT_TRUE(e[1].daemon_stopped);
    EXPECT_EQ(e[1].end_ms, 6000);
    EXPECT_EQ(e[2].start_ms, 1000);
    EXPECT_EQ(e[2].end_ms, 3000);
    EXPECT_FALSE(e[2].daemon_stopped);

    auto j = alert_episodes_json(e);
    ASSERT_EQ(j["active"].size(), 1u);
    ASSERT_EQ(j["past"].size(), 2u);
    EXPECT_EQ(j["active"][0]["labels"]["device"], "sda");
    EXPECT_TRUE(j["active"][0]["end"].is_null());
    EXPECT_EQ(j["past"][1]["start"], "1970-01-01T00:00:01.000Z");
    const std::string text = render_alert_episodes(e, 12'500);
    EXPECT_NE(text.find("FIRING   disk_latency_p99"), std::string::npos) << text;
    EXPECT_EQ(render_alert_episodes({}, 0), "no alerts in this range\n");
}

}  // namespace
}  // namespace perfbpf
