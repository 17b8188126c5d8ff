#include "sinks/alert_receivers.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "support/temp_dir.h"
#include "util/files.h"

namespace perfbpf {
namespace {

AlertEvent fired_disk_alert() {
    Alert a;
    a.rule = "disk_latency_p99";
    a.object = {{"device", "sda"}};
    a.labels = {{"team", "storage"}};
    a.severity = Severity::critical;
    a.value = 120;
    a.threshold = 100;
    a.summary = "sda p99 120 ms >= 100 ms";
    a.starts_ms = 1'796'440'320'123;
    return {AlertChange::fired, a, Severity::ok};
}

TEST(AlertReceivers, AlertmanagerShape) {
    auto e = fired_disk_alert();
    auto j = alertmanager_alert(e.alert, "web1", e.alert.starts_ms + 1000, 30);
    EXPECT_EQ(j["labels"]["alertname"], "disk_latency_p99");
    EXPECT_EQ(j["labels"]["severity"], "critical");
    EXPECT_EQ(j["labels"]["device"], "sda");
    EXPECT_EQ(j["labels"]["team"], "storage");
    EXPECT_EQ(j["labels"]["instance"], "web1");
    EXPECT_EQ(j["annotations"]["summary"], "sda p99 120 ms >= 100 ms");
    EXPECT_EQ(j["startsAt"], "2026-12-05T03:12:00.123Z");
    EXPECT_EQ(j["endsAt"], "2026-12-05T03:14:01.123Z");  // now + 4 resends: lapses if we stop
    EXPECT_TRUE(j.contains("generatorURL"));
    e.alert.ends_ms = e.alert.starts_ms + 5000;
    EXPECT_EQ(alertmanager_alert(e.alert, "web1", 0, 30)["endsAt"], "2026-12-05T03:12:05.123Z");
}

TEST(AlertReceivers, WebhookAndEnvironment) {
    auto e = fired_disk_alert();
    auto j = webhook_body(e, "web1");
    EXPECT_EQ(j["status"], "firing");
    EXPECT_EQ(j["change"], "firing");
    EXPECT_TRUE(j["endsAt"].is_null());
    auto env = alert_environment(e, "web1");
    EXPECT_NE(std::ranges::find(env, "PERFBPF_ALERT_SEVERITY=critical"), env.end());
    EXPECT_NE(std::ranges::find(env, "PERFBPF_ALERT_SUMMARY=sda p99 120 ms >= 100 ms"), env.end());
    EXPECT_EQ(alert_log_line(e),
              "alert disk_latency_p99{device=sda} firing critical: sda p99 120 ms >= 100 ms");
}

TEST(AlertReceivers, SenderPostsToWebhookAndAlertmanager) {
    httplib::Server srv;
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> got;
    auto record = [&](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard lock(mu);
        got.emplace_back(req.path, req.body);
        res.status = 200;
    };
    srv.Post("/hook", record);
    srv.Post("/api/v2/alerts", record);
    const int port = srv.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    std::thread t([&] { srv.listen_after_bind(); });
    {
        AlertReceiverConfig cfg;
        cfg.alertmanager = "http://127.0.0.1:" + std::to_string(port) + "/";
        cfg.webhook = "http://127.0.0.1:" + std::to_string(port) + "/hook";
        cfg.host = "web1";
        AlertSender sender(cfg);
        auto e = fired_disk_alert();
        sender.update(std::span(&e, 1), std::span(&e.alert, 1), 1000);
        // Nothing changed, resend not due: no post. 30 s later: the firing alert again.
        sender.update({}, std::span(&e.alert, 1), 2000);
        sender.update({}, std::span(&e.alert, 1), 31'000);
        sender.drain(5000);
        auto stats = sender.stats();
        ASSERT_EQ(stats.size(), 2u);
        EXPECT_EQ(stats[0].name, "alertmanager");
        EXPECT_EQ(stats[0].sent, 2u);
        EXPECT_EQ(stats[1].sent, 1u);
    }
    srv.stop();
    t.join();
    std::lock_guard lock(mu);
    ASSERT_EQ(got.size(), 3u);
    size_t am = 0;
    for (const auto& [path, body] : got) {
        auto j = nlohmann::json::parse(body);
        if (path == "/api/v2/alerts") {
            ++am;
            ASSERT_TRUE(j.is_array());
            EXPECT_EQ(j[0]["labels"]["alertname"], "disk_latency_p99");
        } else {
            EXPECT_EQ(j["alert"], "disk_latency_p99");
        }
    }
    EXPECT_EQ(am, 2u);
}

TEST(AlertReceivers, UnreachableReceiverQueueIsBoundedAndDropsAreCounted) {
    AlertReceiverConfig cfg;
    cfg.webhook = "http://127.0.0.1:1/hook";  // nothing listens on port 1
    cfg.queue = 2;
    AlertSender sender(cfg);
    auto e = fired_disk_alert();
    for (int i = 0; i < 5; ++i) sender.update(std::span(&e, 1), {}, i);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto s = sender.stats();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].sent, 0u);
    EXPECT_GE(s[0].failed, 1u);
    EXPECT_EQ(s[0].dropped, 3u);
    EXPECT_EQ(s[0].queued, 2u);
    EXPECT_NE(s[0].last_error.find("127.0.0.1:1/hook"), std::string::npos) << s[0].last_error;
}

TEST(AlertReceivers, ExecHookGetsTheAlertInItsEnvironment) {
    test::TempDir dir;
    const std::string script = dir.path() + "/hook.sh", out = dir.path() + "/out";
    {
        std::ofstream f(script);
        f << "#!/bin/sh\necho \"$PERFBPF_ALERT_NAME $PERFBPF_ALERT_SEVERITY\" > " << out << "\n";
    }
    ::chmod(script.c_str(), 0755);
    AlertReceiverConfig cfg;
    cfg.exec = script;
    AlertSender sender(cfg);
    auto e = fired_disk_alert();
    sender.update(std::span(&e, 1), {}, 0);
    sender.drain(5000);
    EXPECT_EQ(sender.stats()[0].sent, 1u);
    auto text = read_file(out);
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(*text, "disk_latency_p99 critical\n");
}

}  // namespace
}  // namespace perfbpf
