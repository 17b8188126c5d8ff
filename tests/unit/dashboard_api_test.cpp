// The dashboard's API: reading /api/series parameters (every bad one a reason, never a
// crash), the compact JSON of an interval and its size bound, and the routes over HTTP on
// an ephemeral loopback port against a history written here.
#include <gtest/gtest.h>

#include <httplib.h>
#include <fstream>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "serve/dashboard.h"
#include "serve/series_request.h"
#include "sinks/dashboard_json.h"
#include "sinks/history_sink.h"
#include "sinks/incident_json.h"
#include "store_test_support.h"
#include "util/listen_address.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::kT0;

TEST(SeriesRequest, StepFitsTheRangeAtAboutAThousandPoints) {
    EXPECT_EQ(fit_step_ms(15 * 60'000, 1000), 1000);        // 900 points
    EXPECT_EQ(fit_step_ms(3'600'000, 1000), 5000);          // 720
    EXPECT_EQ(fit_step_ms(6 * 3'600'000, 1000), 30'000);    // 720
    EXPECT_EQ(fit_step_ms(24 * 3'600'000, 1000), 120'000);  // 720
    EXPECT_EQ(fit_step_ms(7 * 86'400'000, 1000), 900'000);  // 672
    EXPECT_EQ(fit_step_ms(60'000, 5000), 5000) << "never below the interval";
    EXPECT_EQ(fit_step_ms(1000LL * 86'400'000, 1000), 86'400'000LL);
    EXPECT_EQ(fit_step_ms(5000LL * 86'400'000, 1000), 7 * 86'400'000LL);
}

TEST(SeriesRequest, DefaultsToTheLastHour) {
    auto r = parse_series_request({{"selector", "cpu_busy_pct"}}, kT0, 1000);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->selector.metric, "cpu_busy_pct");
    EXPECT_EQ(r->to_ms, kT0);
    EXPECT_EQ(r->from_ms, kT0 - 3'600'000);
    EXPECT_EQ(r->step_ms, 5000);
    auto exact = parse_series_request({{"selector", "tcp_tx_bytes{pid=\"\",cgroup=\"\"}"},
                                       {"from", "1796428800"},
                                       {"to", "2026-12-05T00:10:00Z"},
                                       {"step", "10s"}},
                                      kT0 + 86'400'000, 1000);
    ASSERT_TRUE(exact) << exact.error().message;
    EXPECT_EQ(exact->from_ms, kT0);
    EXPECT_EQ(exact->to_ms, kT0 + 600'000);
    EXPECT_EQ(exact->step_ms, 10'000);
    EXPECT_EQ(exact->selector.matchers.size(), 2u);
    EXPECT_TRUE(parse_series_request({{"selector", "{pid=\"1\"}"}}, kT0, 1000))
        << "an object's every metric";
}

TEST(SeriesRequest, BadParametersSayWhichAndWhy) {
    struct Case {
        std::map<std::string, std::string> params;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{}, "selector: missing"},
        {{{"selector", ""}}, "selector: missing"},
        {{{"selector", "cpu_busy_pct{"}}, "selector:"},
        {{{"selector", "cpu_busy_pct{pid=~\"(\"}"}}, "selector:"},
        {{{"selector", "no_such_metric"}}, "no metric named no_such_metric"},
        {{{"selector", "cpu_pct"}, {"from", "yesterday"}}, "from:"},
        {{{"selector", "cpu_pct"}, {"to", "-1x"}}, "to:"},
        {{{"selector", "cpu_pct"}, {"from", "now"}, {"to", "-1h"}}, "from must be before to"},
        {{{"selector", "cpu_pct"}, {"from", "-1h"}, {"to", "-1h"}}, "from must be before to"},
        {{{"selector", "cpu_pct"}, {"from", "-1000d"}}, "range: at most 800 days"},
        {{{"selector", "cpu_pct"}, {"step", "0"}}, "step:"},
        {{{"selector", "cpu_pct"}, {"step", "-5s"}}, "step:"},
        {{{"selector", "cpu_pct"}, {"step", "fast"}}, "step:"},
        {{{"selector", "cpu_pct"}, {"from", "-7d"}, {"step", "1s"}}, "604800 points"},
        {{{"selector", "cpu_pct"}, {"step", "99999999999999999999d"}}, "step:"},
    };
    for (const auto& c : cases) {
        auto r = parse_series_request(c.params, kT0, 1000);
        ASSERT_FALSE(r) << c.says;
        EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
    }
}

Snapshot crowded_snapshot() {
    Snapshot s;
    s.interval_ns = 2'000'000'000;
    s.end_unix_ms = kT0;
    s.system.cpu_busy_pct = 42.123456789;
    s.system.tcp_tx_bytes = 2000;
    s.system.psi_cpu.available = true;
    s.system.psi_cpu.some.interval_pct = 12.5;
    const std::string long_text(500, 'x');
    for (int i = 0; i < 500; ++i) {
        ProcessSample p;
        p.pid = 1000 + i;
        p.start_time_ticks = 77;
        p.comm = long_text;
        p.cgroup = "/a/" + long_text + std::to_string(i);
        p.cpu_pct = i * 0.123456789;
        p.rss_bytes = 1ULL << 40;
        p.read_bytes = 1'000'000'000'000ULL;
        s.processes.push_back(p);
        CgroupSample c;
        c.path = "/" + long_text + "/" + std::to_string(i);
        c.cpu_pct = 1000 - i;
        c.psi_cpu.available = true;
        c.psi_cpu.some.interval_pct = 1.0 / 3;
        s.cgroups.push_back(c);
        DeviceSample d;
        d.name = "dev" + long_text + std::to_string(i);
        d.read_bytes = static_cast<uint64_t>(i) * 4096;
        d.lat_p99_us = i;
        s.devices.push_back(d);
    }
    return s;
}

TEST(DashboardJson, TopRowsPerSecondAndAtMostTenKilobytes) {
    const Snapshot s = crowded_snapshot();
    std::vector<Verdict> verdicts;
    for (const char* r : {"cpu", "disk", "memory", "network"})
        verdicts.push_back({r, Severity::critical, std::string(400, 'e'), std::string(400, 's')});
    std::vector<Alert> firing(40);
    for (size_t i = 0; i < firing.size(); ++i) {
        firing[i].rule = "rule" + std::to_string(i) + std::string(300, 'r');
        firing[i].object = {{"cgroup", std::string(300, 'c')},
                            {"comm", std::string(300, 'm')},
                            {"pid", "123456"},
                            {"start", "99999999"}};
        firing[i].summary = std::string(1000, 'z');
        firing[i].value = 1.0 / 7;
    }
    const json j = dashboard_now_json(s, verdicts, firing);
    const std::string text = j.dump();
    std::fprintf(stderr, "worst-case message: %zu bytes\n", text.size());
    EXPECT_LE(text.size(), 10'240u);
    ASSERT_EQ(j["processes"].size(), kDashboardTop);
    EXPECT_EQ(j["processes"][0]["pid"], 1499) << "the busiest first";
    EXPECT_EQ(j["processes"][0]["start"], "77");
    EXPECT_EQ(j["cgroups"][0]["cgroup"].get<std::string>().substr(0, 3), "...");
    EXPECT_EQ(j["cgroups"][0]["cgroup"].get<std::string>().size(), kDashboardTextMax);
    EXPECT_TRUE(j["cgroups"][0]["cgroup"].get<std::string>().ends_with("/0"));
    EXPECT_EQ(j["devices"][0]["lat_p99_us"], 499);
    EXPECT_EQ(j["alerts"].size(), kDashboardAlertsMax);
    const std::string evidence = j["verdicts"][0]["evidence"];
    EXPECT_EQ(evidence.size(), kDashboardSentenceMax);
    EXPECT_TRUE(evidence.starts_with("eee") && evidence.ends_with("...")) << evidence;
    EXPECT_EQ(j["more_alerts"], firing.size() - kDashboardAlertsMax);
    EXPECT_DOUBLE_EQ(j["host"]["cpu"]["busy"].get<double>(), 42.123);
    EXPECT_DOUBLE_EQ(j["host"]["net"]["tx_bps"].get<double>(), 1000) << "per second over 2 s";
    EXPECT_DOUBLE_EQ(j["host"]["psi"]["cpu"].get<double>(), 12.5);
    EXPECT_TRUE(j["host"]["psi"]["io"].is_null()) << "unavailable, not 0";
    EXPECT_EQ(j["ts"], kT0);
}

TEST(DashboardJson, AnEmptyIntervalIsStillWholeJson) {
    Snapshot s;
    const json j = dashboard_now_json(s, {}, {});
    EXPECT_TRUE(j["processes"].empty());
    EXPECT_DOUBLE_EQ(j["host"]["net"]["tx_bps"].get<double>(), 0) << "no interval: no rate";
}

TEST(ChartJson, CountersPerSecondAndAtMostMaxSeries) {
    std::vector<SeriesResult> found(3);
    for (size_t i = 0; i < found.size(); ++i) {
        found[i].key = {"read_bytes", {{"device", "d" + std::to_string(i)}}};
        found[i].kind = MetricKind::counter;
        QueryPoint p;
        p.ts_ms = kT0;
        p.value = 10'000;
        found[i].points.push_back(p);
    }
    const json j = chart_json(found, QueryRange{kT0, kT0 + 60'000, 10'000}, 1000, 2);
    EXPECT_EQ(j["matched"], 3);
    ASSERT_EQ(j["series"].size(), 2u);
    EXPECT_TRUE(j["series"][0]["per_second"].get<bool>());
    EXPECT_DOUBLE_EQ(j["series"][0]["points"][0][1].get<double>(), 1000) << "10 kB over 10 s";
    const json coarse = chart_json(found, QueryRange{kT0, kT0 + 60'000, 1000}, 5000, 5);
    EXPECT_DOUBLE_EQ(coarse["series"][0]["points"][0][1].get<double>(), 2000)
        << "a step finer than the interval holds one interval";
}

class DashboardServer : public ::testing::Test {
  protected:
    void SetUp() override {
        auto h = History::open(dir_.path());
        ASSERT_TRUE(h) << h.error().message;
        auto ids = test::intern_synthetic(*h, 4);
        test::append_synthetic(*h, ids, kT0, kT0 + 120'000);
        ASSERT_TRUE(h->flush());
        dashboard_ = std::make_unique<Dashboard>(dir_.path(), [] { return kT0 + 120'000; });
        HttpRoutes routes;
        dashboard_->add_routes(routes);
        HttpServerOptions o;
        o.listen = *parse_listen("127.0.0.1:0");
        o.read_timeout_s = 1;
        o.max_event_streams = 2;
        auto s = HttpServer::start(o, std::move(routes));
        ASSERT_TRUE(s) << s.error().message;
        server_ = std::move(*s);
    }
    httplib::Client client() const { return httplib::Client("127.0.0.1", server_->port()); }

    test::StateDir dir_;
    std::unique_ptr<Dashboard> dashboard_;
    std::unique_ptr<HttpServer> server_;
};

TEST_F(DashboardServer, ServesThePageAndTheHistory) {
    auto c = client();
    auto page = c.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
    auto uplot = c.Get("/uPlot.iife.min.js");
    ASSERT_TRUE(uplot);
    EXPECT_EQ(uplot->status, 200);
    auto r = c.Get("/api/series?selector=cpu_pct%7Bpid%3D%221000%22%7D&from=" +
                   std::to_string(kT0 / 1000) + "&step=10s");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    ASSERT_EQ(j["series"].size(), 1u);
    EXPECT_EQ(j["series"][0]["labels"]["pid"], "1000");
    EXPECT_TRUE(j["series"][0]["per_second"].get<bool>()) << "a counter";
    EXPECT_EQ(j["series"][0]["points"].size(), 12u) << "2 minutes at 10 s";
    auto fitted = c.Get("/api/series?selector=cpu_pct&from=-2m");
    ASSERT_TRUE(fitted);
    ASSERT_EQ(fitted->status, 200) << fitted->body;
    EXPECT_EQ(json::parse(fitted->body)["step_ms"], 1000) << "the interval: finer would be gaps";
    EXPECT_EQ(json::parse(fitted->body)["series"].size(), 4u);
}

TEST_F(DashboardServer, BadRequestsGetAReasonAndNeverStopIt) {
    auto c = client();
    for (const char* bad :
         {"/api/series", "/api/series?selector=cpu_pct%7B", "/api/series?selector=cpu_pct&step=0",
          "/api/series?selector=cpu_pct&from=now&to=-1h", "/api/series?selector=%ff%00&from=%zz",
          "/api/alerts?since=soon"}) {
        auto r = c.Get(bad);
        ASSERT_TRUE(r) << bad;
        EXPECT_EQ(r->status, 400) << bad;
        EXPECT_FALSE(r->body.empty()) << bad;
        EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; charset=utf-8");
    }
    auto post = c.Post("/api/now", "x", "text/plain");
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 405);
    auto nope = c.Get("/api/nope");
    ASSERT_TRUE(nope);
    EXPECT_EQ(nope->status, 404);
    auto ok = c.Get("/api/alerts");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;
    EXPECT_TRUE(json::parse(ok->body).contains("active"));
}

TEST_F(DashboardServer, IncidentsAndTuneChangesInTheRangeAreAnnotations) {
    Incident inc;
    inc.id = 1;
    inc.start_ms = kT0 + 10'000;
    inc.score = 9;
    IncidentSeries s;
    s.key = {"runq_wait_ns", {{"cgroup", "/t/lat"}}};
    s.peak.score = 9;
    inc.series.push_back(s);
    Incident old = inc;
    old.start_ms = kT0 - 600'000;
    old.end_ms = kT0 - 500'000;
    tune::KnobRecord k;
    k.id = {tune::KnobKind::cgroup, "cpu.shares", tune::Scope::cgroup("/t/lat")};
    k.change_seq = 3;
    k.tuner = "cpu-share";
    k.from = "1024";
    k.to = "4096";
    k.outcome = tune::Outcome::kept;
    {
        std::ofstream f(dir_.path() + "/incidents.jsonl");
        f << incident_record(old.start_ms, "9-1", IncidentChange::opened, old).dump() << "\n"
          << incident_record(old.end_ms, "9-1", IncidentChange::closed, old).dump() << "\n"
          << incident_record(inc.start_ms, "9-2", IncidentChange::opened, inc).dump() << "\n"
          << tune_record(kT0 + 20'000, {{"incident", "9-2"}}, k).dump() << "\n";
    }
    auto c = client();
    auto r = c.Get("/api/incidents?from=" + std::to_string(kT0 / 1000));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    ASSERT_EQ(j["incidents"].size(), 1u) << j.dump(2);  // 9-1 closed before the range
    EXPECT_EQ(j["incidents"][0]["id"], "9-2");
    EXPECT_EQ(j["incidents"][0]["open"], true);
    EXPECT_EQ(j["incidents"][0]["start_ms"], kT0 + 10'000);
    EXPECT_NE(j["incidents"][0]["summary"].get<std::string>().find("runq_wait_ns"),
              std::string::npos);
    ASSERT_EQ(j["tune"].size(), 1u);
    EXPECT_EQ(j["tune"][0]["change"], "kept");
    EXPECT_EQ(j["tune"][0]["ts"], kT0 + 20'000);
    // A range that ends before both: neither.
    r = c.Get("/api/incidents?from=" + std::to_string(kT0 / 1000 - 100) +
              "&to=" + std::to_string(kT0 / 1000));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_TRUE(json::parse(r->body)["incidents"].empty()) << r->body;
    EXPECT_TRUE(json::parse(r->body)["tune"].empty()) << r->body;
    for (const char* bad : {"/api/incidents?from=now&to=-1h", "/api/incidents?from=soon",
                            "/api/incidents?to=%zz", "/api/incidents?from=-3000d"}) {
        auto b = c.Get(bad);
        ASSERT_TRUE(b) << bad;
        EXPECT_EQ(b->status, 400) << bad;
        EXPECT_FALSE(b->body.empty()) << bad;
    }
}

TEST_F(DashboardServer, NowAndEventsCarryThePublishedInterval) {
    auto c = client();
    auto before = c.Get("/api/now");
    ASSERT_TRUE(before);
    EXPECT_EQ(before->status, 503) << "nothing collected yet";
    const std::string message = dashboard_now_json(crowded_snapshot(), {}, {}).dump();
    dashboard_->publish(message, 1000);
    auto now = c.Get("/api/now");
    ASSERT_TRUE(now);
    EXPECT_EQ(now->status, 200);
    EXPECT_EQ(now->body, message);

    // A stream gets the newest message at once, then one per publish.
    std::string got;
    std::atomic<bool> stop = false;
    std::thread reader([&] {
        auto sc = client();
        sc.set_read_timeout(5, 0);
        sc.Get("/api/events", [&](const char* data, size_t n) {
            got.append(data, n);
            return !stop.load() && got.find("id: 2\n") == std::string::npos;
        });
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (got.find("id: 1\n") == std::string::npos && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    dashboard_->publish(R"({"ts":2})", 1000);
    reader.join();
    EXPECT_NE(got.find("id: 1\ndata: " + message + "\n\n"), std::string::npos);
    EXPECT_NE(got.find("id: 2\ndata: {\"ts\":2}\n\n"), std::string::npos);
}

TEST_F(DashboardServer, StreamsAreBoundedAndEndWithTheServer) {
    dashboard_->publish("{}", 1000);
    std::vector<std::thread> readers;
    std::atomic<int> streaming = 0, ended = 0;
    for (int i = 0; i < 2; ++i)
        readers.emplace_back([&] {
            auto sc = client();
            sc.set_read_timeout(30, 0);
            bool first = true;
            sc.Get("/api/events", [&](const char*, size_t) {
                if (first) ++streaming;  // a stream starts with the newest message
                first = false;
                return true;
            });
            ++ended;
        });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (streaming < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(streaming.load(), 2);
    auto c = client();
    c.set_read_timeout(5, 0);
    auto third = c.Get("/api/events");
    ASSERT_TRUE(third) << httplib::to_string(third.error());
    EXPECT_EQ(third->status, 503) << "two streams at most here";
    auto metrics_still = c.Get("/api/now");
    ASSERT_TRUE(metrics_still);
    EXPECT_EQ(metrics_still->status, 200) << "streams do not take the request threads";
    const auto t0 = std::chrono::steady_clock::now();
    server_.reset();
    for (auto& t : readers) t.join();
    EXPECT_EQ(ended.load(), 2);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 3.0)
        << "open streams do not hold the daemon's exit";
}

TEST(DashboardAuth, TheBearerTokenGuardsThePageAndTheApi) {
    Dashboard dashboard("/nonexistent", [] { return kT0; });
    dashboard.publish("{}", 1000);
    HttpRoutes routes;
    dashboard.add_routes(routes);
    HttpServerOptions o;
    o.listen = *parse_listen("127.0.0.1:0");
    o.bearer_token = "s3cret";
    auto s = HttpServer::start(o, std::move(routes));
    ASSERT_TRUE(s) << s.error().message;
    httplib::Client c("127.0.0.1", (*s)->port());
    for (const char* path : {"/", "/app.js", "/api/now", "/api/events", "/api/series?selector=x"}) {
        auto r = c.Get(path);
        ASSERT_TRUE(r) << path;
        EXPECT_EQ(r->status, 401) << path;
    }
    c.set_bearer_token_auth("s3cret");
    auto ok = c.Get("/api/now");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    auto no_history = c.Get("/api/series?selector=cpu_pct");
    ASSERT_TRUE(no_history);
    EXPECT_EQ(no_history->status, 503) << "no history yet: says where it looked";
    EXPECT_NE(no_history->body.find("/nonexistent"), std::string::npos) << no_history->body;
}

}  // namespace
}  // namespace perfbpf
