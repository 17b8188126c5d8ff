// Alerts end to end: `perfbpf daemon` with a rule on a CPU hog, Debian's Alertmanager on a
// loopback port routing everything to a webhook of the test's own; the notification must
// arrive, and how long after the rule's `for` ended is printed (target <= 2 s).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::fixture;
using test::TempDir;

constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// "2026-12-05T03:12:00.123Z" (or with more fraction digits, as Alertmanager writes it)
// -> unix ms.
int64_t parse_rfc3339_ms(const std::string& t) {
    std::tm tm{};
    if (!::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
    int64_t ms = static_cast<int64_t>(::timegm(&tm)) * 1000;
    if (t.size() > 20 && t[19] == '.') ms += std::stoi(t.substr(20, 3));
    return ms;
}

TEST(Alerts, CpuHogRuleReachesAlertmanagerWebhook) {
    PERFBPF_REQUIRE_ROOT();
    if (::access(kAlertmanager, X_OK) != 0)
        PERFBPF_SKIP_OR_FAIL(std::string(kAlertmanager) + " is not installed");
    TempDir dir;

    // The webhook Alertmanager notifies: each body kept with when it arrived.
    httplib::Server hook;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::pair<int64_t, json>> received;
    hook.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
        const int64_t at = unix_ms();
        std::lock_guard lock(mu);
        received.emplace_back(at, json::parse(req.body, nullptr, false));
        cv.notify_all();
        res.status = 200;
    });
    const int hook_port = hook.bind_to_any_port("127.0.0.1");
    ASSERT_GT(hook_port, 0);
    std::thread hook_thread([&] { hook.listen_after_bind(); });
    struct StopHook {
        httplib::Server& s;
        std::thread& t;
        ~StopHook() {
            s.stop();
            t.join();
        }
    } stop_hook{hook, hook_thread};

    const int am_port = test::free_loopback_port();
    ASSERT_GT(am_port, 0);
    const std::string am_url = "http://127.0.0.1:" + std::to_string(am_port);
    std::ofstream(dir.path() + "/am.yml") << "route:\n"
                                             "  receiver: test\n"
                                             "  group_by: ['...']\n"
                                             "  group_wait: 0s\n"
                                             "  group_interval: 1s\n"
                                             "  repeat_interval: 1h\n"
                                             "receivers:\n"
                                             "  - name: test\n"
                                             "    webhook_configs:\n"
                                             "      - url: http://127.0.0.1:"
                                          << hook_port << "/hook\n        send_resolved: true\n";
    ::mkdir((dir.path() + "/am-data").c_str(), 0700);
    // --cluster.listen-address= turns clustering off (it would listen on 0.0.0.0:9094).
    Child am =
        Child::spawn({"/bin/sh", "-c",
                      std::string("exec ") + kAlertmanager + " --config.file=" + dir.path() +
                          "/am.yml --storage.path=" + dir.path() +
                          "/am-data --web.listen-address=127.0.0.1:" + std::to_string(am_port) +
                          " --cluster.listen-address= 2>" + dir.path() + "/am.log"});
    httplib::Client am_client(am_url);
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) {
        auto r = am_client.Get("/-/ready");
        ready = r && r->status == 200;
        if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(ready) << "Alertmanager did not become ready; its log: "
                       << test::run_command("cat " + dir.path() + "/am.log");

    Child hog = Child::spawn({fixture("spin"), "60"});
    const std::string pid = std::to_string(hog.pid());
    std::ofstream(dir.path() + "/perfbpf.toml")
        // No /metrics here; the hog is too young for series of its own unless watched.
        << "[daemon]\nlisten = \"\"\nwatch = [\"spin\"]\n"
        << "[alerting]\nalertmanager = \"" << am_url << "\"\n"
        << "[[alert]]\nname = \"hog_cpu\"\nselect = 'cpu_pct{pid=\"" << pid << "\"}'\n"
        << "warn = 20\nfor = 5\nsummary = \"pid {pid} {comm} at {value} % CPU\"\n";
    Child daemon = Child::spawn({"/bin/sh", "-c",
                                 "exec " + test::perfbpf_binary() + " daemon --config " +
                                     dir.path() + "/perfbpf.toml --state-dir " + dir.path() +
                                     "/state --interval 0.5 2>" + dir.path() + "/daemon.log"});

    // Firing needs 5 s of the hog over 20 % (a busy machine shares its CPUs) after the probes load;
    // 40 s is plenty.
    std::unique_lock lock(mu);
    auto hog_alert = [&]() -> const std::pair<int64_t, json>* {
        for (const auto& r : received)
            if (!r.second.is_discarded() && r.second.value("status", "") == "firing")
                for (const auto& a : r.second["alerts"])
                    if (a["labels"].value("alertname", "") == "hog_cpu") return &r;
        return nullptr;
    };
    cv.wait_for(lock, std::chrono::seconds(40), [&] { return hog_alert() != nullptr; });
    const auto* got = hog_alert();
    ASSERT_NE(got, nullptr) << "no notification; daemon log:\n"
                            << test::run_command("cat " + dir.path() + "/daemon.log")
                            << "\nAlertmanager log:\n"
                            << test::run_command("cat " + dir.path() + "/am.log");
    json alert;
    for (const auto& a : got->second["alerts"])
        if (a["labels"].value("alertname", "") == "hog_cpu") alert = a;
    lock.unlock();
    EXPECT_EQ(alert["labels"]["pid"], pid);
    EXPECT_EQ(alert["labels"]["comm"], "spin");
    EXPECT_EQ(alert["labels"]["severity"], "warning");
    EXPECT_NE(alert["annotations"]["summary"].get<std::string>().find("pid " + pid + " spin"),
              std::string::npos)
        << alert.dump();
    // startsAt is when the daemon's rule fired: the end of `for`.
    const int64_t fired_ms = parse_rfc3339_ms(alert["startsAt"].get<std::string>());
    ASSERT_GT(fired_ms, 0) << alert.dump();
    const double delay_s = static_cast<double>(got->first - fired_ms) / 1000.0;
    std::printf("alert delay: end of `for` to webhook receipt %.3f s\n", delay_s);
    EXPECT_LE(delay_s, 2.0);
    EXPECT_GE(delay_s, -0.5);  // the same clock on both sides

    // The daemon recorded it: `perfbpf alerts` lists it as firing.
    int status = -1;
    std::string listed =
        test::run_perfbpf("alerts --json --state-dir " + dir.path() + "/state 2>&1", &status);
    json j = json::parse(listed, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << listed;
    bool active = false;
    for (const auto& a : j["active"]) active |= a["alert"] == "hog_cpu";
    EXPECT_TRUE(active) << listed;

    // When the hog stops, the alert resolves and Alertmanager says so.
    hog.kill();
    lock.lock();
    bool resolved = cv.wait_for(lock, std::chrono::seconds(20), [&] {
        for (const auto& r : received)
            if (!r.second.is_discarded() && r.second.value("status", "") == "resolved") return true;
        return false;
    });
    lock.unlock();
    EXPECT_TRUE(resolved) << "no resolved notification";
    daemon.kill();
    am.kill();
}

}  // namespace
}  // namespace perfbpf
