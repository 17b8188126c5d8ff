#include "sinks/daemon_status.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

TEST(DaemonStatusJson, AlertsRoundTripAndOlderFilesWithoutThemStillRead) {
    DaemonStatus s;
    s.alerts_firing = 2;
    s.firing = {
        {"cpu_busy", Severity::critical, "host CPU busy 91 % >= 85 %", 1'700'000'000'000},
        {"disk_latency_p99", Severity::warning, "sda p99 60 ms > 50 ms", 1'700'000'100'000}};
    s.alert_receivers["alertmanager"] = {5, 1, 0, 1,
                                         "POST http://127.0.0.1:9/api/v2/alerts: Connection"};
    s.alert_receivers["webhook"] = {3, 0, 0, 0, ""};
    auto j = daemon_status_json(s);
    auto back = daemon_status_from_json(j);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->alerts_firing, 2u);
    ASSERT_EQ(back->firing.size(), 2u);
    EXPECT_EQ(back->firing[0].alert, "cpu_busy");
    EXPECT_EQ(back->firing[0].severity, Severity::critical);
    EXPECT_EQ(back->firing[1].summary, "sda p99 60 ms > 50 ms");
    EXPECT_EQ(back->firing[1].since_unix_ms, 1'700'000'100'000);
    ASSERT_EQ(back->alert_receivers.size(), 2u);
    EXPECT_EQ(back->alert_receivers["alertmanager"].failed, 1u);
    EXPECT_EQ(back->alert_receivers["alertmanager"].last_error,
              s.alert_receivers["alertmanager"].last_error);
    const std::string text = render_daemon_status(*back, 0);
    EXPECT_NE(text.find("alerts      2 firing"), std::string::npos) << text;
    EXPECT_NE(text.find("webhook      sent 3, failed 0, dropped 0, queued 0"), std::string::npos)
        << text;

    j.erase("alerts");
    back = daemon_status_from_json(j);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->alerts_firing, 0u);
}

TEST(DaemonStatusJson, RemoteWriteRoundTripsAndIsNullWhenOff) {
    DaemonStatus s;
    EXPECT_TRUE(daemon_status_json(s)["remote_write"].is_null());
    EXPECT_EQ(render_daemon_status(s, 0).find("remote write"), std::string::npos);
    s.remote_write = {.enabled = true,
                      .sent_samples = 9000,
                      .failed_requests = 3,
                      .dropped_queue_full = 120,
                      .dropped_rejected = 7,
                      .queued_samples = 50,
                      .last_error = "POST http://127.0.0.1:9/api/v1/write: Connection"};
    auto back = daemon_status_from_json(daemon_status_json(s));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->remote_write, s.remote_write);
    const std::string text = render_daemon_status(*back, 0);
    EXPECT_NE(text.find("remote write sent 9000 samples, 3 posts failed, dropped 120 (queue "
                        "full) + 7 (rejected), queued 50; last error: POST"),
              std::string::npos)
        << text;
}

}  // namespace
}  // namespace perfbpf
