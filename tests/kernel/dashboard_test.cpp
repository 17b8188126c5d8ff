// The dashboard in a real browser against a real daemon: tests/browser/dashboard.mjs drives
// Debian's chromium headless (puppeteer-core from the build's npm ci) at a daemon started
// here on an ephemeral loopback port, and checks the page as a person would see it (no
// console errors, charts with data, a new point within 2 s, a drill-down, an incident and a
// tune change as annotations); it prints the
// first load time and the event messages' size, and leaves a screenshot
// (PERFBPF_SCREENSHOT, default in the temp dir: docs/dashboard.png is one taken so).
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "support.h"

namespace perfbpf {
namespace {

// The port the daemon logged ("serving ... on 127.0.0.1:PORT"), 0 if none within 10 s.
int logged_port(const std::string& log) {
    const std::regex re(R"(dashboard on 127\.0\.0\.1:([0-9]+))");
    for (int i = 0; i < 400; ++i) {
        std::ifstream in(log);
        std::stringstream text;
        text << in.rdbuf();
        std::smatch m;
        const std::string s = text.str();
        if (std::regex_search(s, m, re)) return std::stoi(m[1]);
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return 0;
}

TEST(Dashboard, ABrowserSeesLiveChartsAndDrillsDown) {
    PERFBPF_REQUIRE_ROOT();
    if (::access("/usr/bin/chromium", X_OK) != 0)
        PERFBPF_SKIP_OR_FAIL("no /usr/bin/chromium (scripts/install-deps.sh installs it)");
    int status = 0;
    test::run_command("command -v node", &status);
    if (status != 0) PERFBPF_SKIP_OR_FAIL("no node (scripts/install-deps.sh installs it)");

    test::TempDir dir;
    // A busy process older than the daemon: the one row the browser drills into.
    auto spin = test::Child::spawn({test::fixture("spin"), "120"});
    ASSERT_GT(spin.pid(), 0);
    // One-second intervals that the governor does not stretch on a busy host (a new point
    // is expected within 2 s), and every process kept whatever its age, so the process a
    // click opens has history of its own.
    std::ofstream(dir.path() + "/perfbpf.toml")
        << "[daemon]\ninterval = 1.0\nmin_process_age = 0\ncpu_budget_pct = 100\n";
    // An open incident and a tune change made for it, as the daemon records them, from a
    // minute ago: the page draws both as annotations. (Provoking a real one takes a
    // baseline of minutes; the records' shape is the daemon's, see sinks/incident_json.h.)
    ASSERT_EQ(::mkdir((dir.path() + "/state").c_str(), 0700), 0);
    const auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     60'000;
    std::ofstream(dir.path() + "/state/incidents.jsonl")
        << R"({"event":"incident","change":"opened","id":"browser-1","resource":"cpu","score":9,)"
        << R"("series":[],"end_ms":0,"start_ms":)" << ago << R"(,"ts":)" << ago << "}\n"
        << R"({"event":"tune","change":"kept","seq":1,"tuner":"cpu-share","object":"cgroup:/x",)"
        << R"("knob":"cpu.shares","from":"1024","to":"4096","incident":"browser-1","ts":)"
        << ago + 5000 << "}\n";
    const std::string log = dir.path() + "/daemon.log";
    auto daemon = test::Child::spawn(
        {"/bin/sh", "-c",
         "exec " + test::perfbpf_binary() + " daemon --listen 127.0.0.1:0 --state-dir " +
             dir.path() + "/state --config " + dir.path() + "/perfbpf.toml 2>" + log});
    ASSERT_GT(daemon.pid(), 0);
    const int port = logged_port(log);
    ASSERT_GT(port, 0) << "no port in the daemon's log: " << test::run_command("cat " + log);

    // A few intervals, so the charts' history is not empty.
    httplib::Client c("127.0.0.1", port);
    int ready = 0;
    for (int i = 0; i < 100 && ready < 3; ++i) {
        auto r = c.Get("/api/now");
        if (r && r->status == 200) ++ready;
        std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    }
    ASSERT_EQ(ready, 3) << test::run_command("cat " + log);

    const char* shot_env = std::getenv("PERFBPF_SCREENSHOT");
    const std::string shot = shot_env ? shot_env : dir.path() + "/dashboard.png";
    const std::string out = test::run_command(
        "PERFBPF_INCIDENT_ID=browser-1 PERFBPF_DRILL_PID=" + std::to_string(spin.pid()) +
            " PERFBPF_NODE_MODULES=" PERFBPF_NODE_MODULES_DIR
            " timeout 120 node " PERFBPF_BROWSER_TEST " http://127.0.0.1:" +
            std::to_string(port) + "/ " + shot + " 2>&1",
        &status);
    std::fprintf(stderr, "%s", out.c_str());
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("0 failed"), std::string::npos) << out;
    EXPECT_EQ(::access(shot.c_str(), R_OK), 0) << "no screenshot at " << shot;
    daemon.kill();
}

}  // namespace
}  // namespace perfbpf
