// perfbpf daemon writing to a real Prometheus (Debian's /usr/bin/prometheus with its
// remote-write receiver on, nothing scraped): the daemon's series arrive under the names
// /metrics gives them. With Prometheus stopped the daemon keeps collecting, counts its failed
// posts and, past its queue, the samples it drops; once Prometheus is back, those counts
// arrive there too.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "support.h"

namespace perfbpf {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

test::Child start_prometheus(const std::string& dir, int port) {
    return test::Child::spawn({"/bin/sh", "-c",
                               "exec /usr/bin/prometheus --config.file=" + dir + "/prometheus.yml" +
                                   " --storage.tsdb.path=" + dir +
                                   "/tsdb --web.listen-address=127.0.0.1:" + std::to_string(port) +
                                   " --web.enable-remote-write-receiver 2>>" + dir +
                                   "/prometheus.log"});
}

bool ready(int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(1, 0);
    auto r = c.Get("/-/ready");
    return r && r->status == 200;
}

// The value of an instant query's first result; nullopt when it has none (or no answer).
std::optional<double> query(int port, const std::string& expr) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    auto r = c.Get("/api/v1/query", httplib::Params{{"query", expr}}, httplib::Headers{});
    if (!r || r->status != 200) return std::nullopt;
    auto j = json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
    const json& result = j["data"]["result"];
    if (result.empty()) return std::nullopt;
    return std::stod(result[0]["value"][1].get<std::string>());
}

// Polls `done` once a second for up to `seconds`.
template <class Pred>
bool within(int seconds, Pred done) {
    const auto until = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return static_cast<bool>(done());
}

// The daemon's status file, or null before it is written.
json daemon_status(const std::string& state_dir) {
    std::ifstream in(state_dir + "/daemon.status.json");
    if (!in) return nullptr;
    auto j = json::parse(in, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
}

uint64_t remote_count(const json& status, const char* key) {
    if (!status.is_object() || !status.contains("remote_write") ||
        !status["remote_write"].is_object())
        return 0;
    return status["remote_write"].value(key, uint64_t{0});
}

std::string tail_of(const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

TEST(RemoteWrite, SamplesReachPrometheusAndAnOutageIsCounted) {
    PERFBPF_REQUIRE_ROOT();
    if (::access("/usr/bin/prometheus", X_OK) != 0)
        PERFBPF_SKIP_OR_FAIL("/usr/bin/prometheus missing (scripts/install-deps.sh)");
    test::TempDir dir;
    const int port = test::free_loopback_port();
    ASSERT_GT(port, 0);
    std::ofstream(dir.path() + "/prometheus.yml") << "global:\n  scrape_interval: 15s\n";
    // A queue of a few intervals' samples (a few thousand a second here), so an outage of
    // some seconds overflows it.
    constexpr int kQueue = 20000;
    std::ofstream(dir.path() + "/perfbpf.toml")
        << "[daemon]\ninterval = 1\n[remote_write]\nurl = \"http://127.0.0.1:" << port
        << "/api/v1/write\"\nbatch_samples = 2000\nqueue_samples = " << kQueue << "\ntimeout = 2\n";
    const std::string state = dir.path() + "/state";
    const std::string daemon_log = dir.path() + "/daemon.log";

    auto prometheus = start_prometheus(dir.path(), port);
    ASSERT_GT(prometheus.pid(), 0);
    ASSERT_TRUE(within(30, [&] { return ready(port); })) << tail_of(dir.path() + "/prometheus.log");
    auto daemon = test::Child::spawn(
        {"/bin/sh", "-c",
         "exec " + test::perfbpf_binary() + " daemon --listen '' --state-dir " + state +
             " --config " + dir.path() + "/perfbpf.toml 2>" + daemon_log});
    ASSERT_GT(daemon.pid(), 0);

    // Nothing scrapes: whatever perfbpf series Prometheus has came by remote write.
    const auto started = Clock::now();
    ASSERT_TRUE(within(40, [&] {
        return query(port, R"(perfbpf_self_intervals_total{job="perfbpf"} >= 3)");
    })) << tail_of(daemon_log);
    std::printf("[measured] first samples in Prometheus %.1f s after the daemon started\n",
                std::chrono::duration<double>(Clock::now() - started).count());
    const auto series = query(port, R"(count({__name__=~"perfbpf_.+"}))");
    ASSERT_TRUE(series);
    EXPECT_GT(*series, 50);
    // A counter as a running total in seconds, a histogram as buckets: the /metrics names.
    EXPECT_TRUE(query(port, "perfbpf_oncpu_seconds_total"));
    EXPECT_EQ(query(port, R"(count({__name__=~"perfbpf_.+",instance=""}))"), std::nullopt)
        << "every series carries instance";
    EXPECT_TRUE(query(port, R"(perfbpf_runq_seconds_bucket{le="+Inf"})"));
    ASSERT_TRUE(within(
        15, [&] { return query(port, "perfbpf_self_remote_write_sent_samples_total > 0"); }));
    EXPECT_EQ(
        query(port, R"(perfbpf_self_remote_write_dropped_samples_total{reason="queue_full"})"),
        0.0);
    std::printf("[measured] %.0f perfbpf series in Prometheus\n", *series);

    // Outage: posts fail, are retried, and the queue overflows; the daemon goes on.
    prometheus.kill();
    const uint64_t intervals_before = daemon_status(state).value("intervals", uint64_t{0});
    const auto outage = Clock::now();
    json status;
    ASSERT_TRUE(within(90,
                       [&] {
                           status = daemon_status(state);
                           return remote_count(status, "dropped_queue_full") > 0 &&
                                  remote_count(status, "failed_requests") >= 2;
                       }))
        << status.dump() << "\n"
        << tail_of(daemon_log);
    const double outage_s = std::chrono::duration<double>(Clock::now() - outage).count();
    EXPECT_FALSE(daemon.exited()) << tail_of(daemon_log);
    EXPECT_GT(status.value("intervals", uint64_t{0}), intervals_before);
    EXPECT_LE(remote_count(status, "queued_samples"), uint64_t{kQueue} + 2000);
    EXPECT_NE(status["remote_write"].value("last_error", "").find("/api/v1/write"),
              std::string::npos)
        << status.dump();
    std::printf(
        "[measured] outage of %.0f s: %llu posts failed, %llu samples dropped, %llu "
        "queued\n",
        outage_s, static_cast<unsigned long long>(remote_count(status, "failed_requests")),
        static_cast<unsigned long long>(remote_count(status, "dropped_queue_full")),
        static_cast<unsigned long long>(remote_count(status, "queued_samples")));

    // Back: the daemon's own account of the outage arrives with the samples that follow.
    prometheus = start_prometheus(dir.path(), port);
    ASSERT_TRUE(within(30, [&] { return ready(port); })) << tail_of(dir.path() + "/prometheus.log");
    EXPECT_TRUE(within(60, [&] {
        return query(
                   port,
                   R"(perfbpf_self_remote_write_dropped_samples_total{reason="queue_full"} > 0)") &&
               query(port, "perfbpf_self_remote_write_failed_requests_total >= 2");
    })) << tail_of(daemon_log);
    EXPECT_FALSE(daemon.exited()) << tail_of(daemon_log);

    // SIGTERM: the daemon stops cleanly with the remote writer's thread.
    ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
    EXPECT_EQ(daemon.wait(), 0) << tail_of(daemon_log);
    prometheus.kill();
}

}  // namespace
}  // namespace perfbpf
