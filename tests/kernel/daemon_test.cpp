// `perfbpf daemon` as systemd runs it: collecting into the history that
// `perfbpf query` reads, reloading on SIGHUP, flushing on SIGTERM, surviving
// kill -9, a full disk and a corrupt database, and shedding work over its
// budget.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "support.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::fixture;
using test::run_perfbpf;
using test::slurp;
using test::TempDir;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

// The daemon in the background (exec'd by the shell, so the pid is the
// daemon's), its stderr in `log`.
Child start_daemon(const std::string& args, const std::string& log) {
    return Child::spawn(
        {"/bin/sh", "-c",
         "exec " + test::perfbpf_binary() + " daemon --listen 127.0.0.1:0 " + args + " 2>" + log});
}

std::optional<json> status_of(const std::string& dir) {
    json j = json::parse(slurp(dir + "/daemon.status.json"), nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

// Waits up to `seconds` for the status file to satisfy `pred`.
bool wait_status(const std::string& dir, double seconds,
                 const std::function<bool(const json&)>& pred) {
    auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
        if (auto s = status_of(dir); s && pred(*s)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

uint64_t intervals_of(const std::string& dir) {
    auto s = status_of(dir);
    return s ? (*s)["intervals"].get<uint64_t>() : 0;
}

// Points of one series in the history, through `perfbpf query --json`.
size_t points(const std::string& dir, const std::string& selector, json* out = nullptr) {
    int status = -1;
    std::string text = run_perfbpf(
        "query '" + selector + "' --since 1h --state-dir " + dir + " --json 2>/dev/null", &status);
    if (status != 0) return 0;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.contains("series")) return 0;
    if (out) *out = j;
    size_t n = 0;
    for (const auto& s : j["series"]) n = std::max(n, s["points"].size());
    return n;
}

TEST(Daemon, CollectsIntoHistoryThatQueryReadsBack) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    Child spin = Child::spawn({fixture("spin"), "20"});
    // A process this young is summed into `other` unless watched.
    write(dir.path() + "/c.toml", "[daemon]\nwatch = [\"spin\"]\n");
    int status = -1;
    std::string err =
        run_perfbpf("daemon --listen 127.0.0.1:0 --config " + dir.path() + "/c.toml --state-dir " +
                        dir.path() + " --interval 0.2 --iterations 10 2>&1 >/dev/null",
                    &status);
    ASSERT_EQ(status, 0) << err;
    EXPECT_EQ(intervals_of(dir.path()), 10u);
    EXPECT_GE(points(dir.path(), "cpu_busy_pct"), 9u);
    json q;
    ASSERT_GE(points(dir.path(), "cpu_pct{pid=\"" + std::to_string(spin.pid()) + "\"}", &q), 8u);
    // The hog's last points: most of a CPU (on a busy machine, at least a fifth).
    const json& pts = q["series"][0]["points"];
    EXPECT_GT(pts.back()[1].get<double>(), 20.0) << q.dump();
    EXPECT_EQ(q["series"][0]["labels"]["comm"], "spin");
}

TEST(Daemon, SigtermFlushesAndExitsZeroWithinTwoSeconds) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    Child d = start_daemon("--state-dir " + dir.path() + " --interval 1", dir.path() + "/log");
    ASSERT_TRUE(wait_status(dir.path(), 30, [](const json& s) { return s["intervals"] >= 2; }))
        << slurp(dir.path() + "/log");
    auto t0 = Clock::now();
    ::kill(d.pid(), SIGTERM);
    int rc = d.wait();
    double took = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_EQ(rc, 0) << slurp(dir.path() + "/log");
    EXPECT_LT(took, 2.0);
    EXPECT_GE(points(dir.path(), "cpu_busy_pct"), 2u);
}

TEST(Daemon, SighupReloadsAndKeepsTheRunningConfigWhenTheNewOneIsBad) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    const std::string conf = dir.path() + "/perfbpf.toml";
    write(conf, "[daemon]\ninterval = 0.2\n");
    Child d = start_daemon("--config " + conf + " --state-dir " + dir.path(), dir.path() + "/log");
    ASSERT_TRUE(wait_status(dir.path(), 30, [](const json& s) { return s["intervals"] >= 2; }));
    write(conf, "[daemon]\ninterval = 0.2\nbogus_key = 1\n");
    ::kill(d.pid(), SIGHUP);
    uint64_t before = intervals_of(dir.path());
    ASSERT_TRUE(
        wait_status(dir.path(), 10, [&](const json& s) { return s["intervals"] > before + 3; }))
        << "the daemon stopped collecting after a bad reload: " << slurp(dir.path() + "/log");
    EXPECT_FALSE(d.exited());
    std::string log = slurp(dir.path() + "/log");
    EXPECT_NE(log.find("daemon.bogus_key"), std::string::npos) << log;
    EXPECT_NE(log.find("keeping the running configuration"), std::string::npos) << log;
    EXPECT_DOUBLE_EQ((*status_of(dir.path()))["interval_s"].get<double>(), 0.2);

    write(conf, "[daemon]\ninterval = 0.5\n");
    ::kill(d.pid(), SIGHUP);
    EXPECT_TRUE(wait_status(dir.path(), 10, [](const json& s) { return s["interval_s"] == 0.5; }))
        << slurp(dir.path() + "/log");
    ::kill(d.pid(), SIGTERM);
    EXPECT_EQ(d.wait(), 0);
}

TEST(Daemon, BadConfigAtStartNamesTheKeyAndExitsTwo) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    write(dir.path() + "/c.toml", "[daemon]\ninterval = \"fast\"\n");
    int status = -1;
    std::string err = run_perfbpf("daemon --listen 127.0.0.1:0 --config " + dir.path() +
                                      "/c.toml --state-dir " + dir.path() + " --iterations 1 2>&1",
                                  &status);
    EXPECT_EQ(status, 2) << err;
    EXPECT_NE(err.find("daemon.interval"), std::string::npos) << err;
}

TEST(Daemon, KillNineAtRandomMomentsLosesAtMostTheLastInterval) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> wait_ms(200, 1500);
    uint64_t recorded = 0;  // intervals the daemons said they wrote
    uint64_t unsaid = 0;    // intervals that may have been written after the last status
    for (int round = 0; round < 6; ++round) {
        Child d = start_daemon("--state-dir " + dir.path() + " --interval 0.1",
                               dir.path() + "/log" + std::to_string(round));
        ASSERT_TRUE(wait_status(dir.path(), 30, [&](const json& s) {
            return s["pid"] == d.pid() && s["intervals"] >= 1;
        })) << slurp(dir.path() + "/log" + std::to_string(round));
        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms(rng)));
        d.kill();
        const auto killed = fs::file_time_type::clock::now();
        recorded += intervals_of(dir.path());
        // The status file is written at most once a second: the intervals since it was
        // (0.1 s each), and the one being written at the kill, are not in its count.
        const auto since = killed - fs::last_write_time(dir.path() + "/daemon.status.json");
        unsaid += static_cast<uint64_t>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(since).count() / 100) +
                  1;
    }
    // Each daemon's status file is written after its history: every interval it
    // counted is in the database, and no more than could have run since it was written.
    size_t stored = points(dir.path(), "cpu_busy_pct");
    EXPECT_GE(stored, recorded);
    EXPECT_LE(stored, recorded + unsaid);
    int status = -1;
    run_perfbpf(
        "daemon --listen 127.0.0.1:0 --state-dir " + dir.path() + " --iterations 1 2>/dev/null",
        &status);
    EXPECT_EQ(status, 0);
    EXPECT_TRUE(fs::exists(dir.path() + "/history.db"));
    for (const auto& e : fs::directory_iterator(dir.path()))
        EXPECT_EQ(e.path().filename().string().find("corrupt"), std::string::npos) << e.path();
}

TEST(Daemon, CorruptDatabaseIsMovedAsideAndAFreshOneStarted) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    write(dir.path() + "/history.db", std::string(8192, 'x'));
    int status = -1;
    std::string err = run_perfbpf("daemon --listen 127.0.0.1:0 --state-dir " + dir.path() +
                                      " --interval 0.2 --iterations 3 2>&1 >/dev/null",
                                  &status);
    ASSERT_EQ(status, 0) << err;
    bool moved = false;
    for (const auto& e : fs::directory_iterator(dir.path()))
        moved |= e.path().filename().string().starts_with("history.db.corrupt-");
    EXPECT_TRUE(moved);
    EXPECT_NE(err.find("corrupt"), std::string::npos) << err;
    EXPECT_GE(points(dir.path(), "cpu_busy_pct"), 2u);
}

// A small tmpfs of our own as the state dir, filled up under the running
// daemon.
TEST(Daemon, FullDiskPausesHistoryWhileCollectionGoesOn) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    const std::string mnt = dir.path() + "/state";
    fs::create_directory(mnt);
    ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m,mode=0700"), 0) << strerror(errno);
    struct Unmount {
        std::string path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{mnt};
    Child d = start_daemon("--state-dir " + mnt + " --interval 0.1", dir.path() + "/log");
    ASSERT_TRUE(wait_status(mnt, 30, [](const json& s) { return s["intervals"] >= 3; }))
        << slurp(dir.path() + "/log");
    // Fill what is left (dd stops at ENOSPC). SQLite may still commit into WAL pages it
    // already has, so writes pause at the first interval that needs more and may go on
    // between failures: what must hold is that failures are counted and said, collection
    // goes on, and writing resumes once there is room.
    test::run_command("dd if=/dev/zero of=" + mnt + "/filler bs=64k 2>/dev/null");
    ASSERT_TRUE(wait_status(mnt, 30, [](const json& s) {
        return s["history"]["dropped_intervals"] >= 1;
    })) << slurp(dir.path() + "/log");
    const uint64_t at_full = intervals_of(mnt);
    EXPECT_TRUE(wait_status(mnt, 10, [&](const json& s) { return s["intervals"] >= at_full + 5; }))
        << "collection stopped on a full disk";
    EXPECT_FALSE(d.exited());
    fs::remove(mnt + "/filler");
    const uint64_t samples_at_free = (*status_of(mnt))["history"]["samples"].get<uint64_t>();
    EXPECT_TRUE(wait_status(mnt, 30, [&](const json& s) {
        return s["history"]["paused"] == false &&
               s["history"]["samples"].get<uint64_t>() > samples_at_free;
    })) << slurp(dir.path() + "/log");
    std::string log = slurp(dir.path() + "/log");
    EXPECT_NE(log.find("history writes paused"), std::string::npos) << log;
    EXPECT_NE(log.find("history writes resumed"), std::string::npos) << log;
    ::kill(d.pid(), SIGTERM);
    EXPECT_EQ(d.wait(), 0) << slurp(dir.path() + "/log");
}

TEST(Daemon, GovernorStepsDownUnderATinyBudget) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    write(dir.path() + "/c.toml", "[daemon]\ncpu_budget_pct = 0.01\ngovernor_period = 2\n");
    int status = -1;
    std::string err =
        run_perfbpf("daemon --listen 127.0.0.1:0 --config " + dir.path() + "/c.toml --state-dir " +
                        dir.path() + " --interval 0.1 --iterations 60 2>&1",
                    &status);
    ASSERT_EQ(status, 0) << err;
    EXPECT_NE(err.find("governor: level 0 -> 1"), std::string::npos) << err;
    auto s = status_of(dir.path());
    ASSERT_TRUE(s);
    EXPECT_GE((*s)["governor"]["level"].get<int>(), 1);
    EXPECT_GT((*s)["governor"]["own_cpu_pct"].get<double>(), 0.01);
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

TEST(Daemon, FamilyThatFailedToLoadIsRetriedWhileTheRestRuns) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    int status = -1;
    // The first retry comes 10 s after start.
    std::string err =
        test::run_command("PERFBPF_TEST_FAIL_FAMILY=net " + test::perfbpf_binary() +
                              " daemon --listen 127.0.0.1:0 --state-dir " + dir.path() +
                              " --interval 0.5 --iterations 26 2>&1 >/dev/null",
                          &status);
    ASSERT_EQ(status, 0) << err;
    EXPECT_NE(err.find("net (object) unavailable: load failed (injected"), std::string::npos)
        << err;
    EXPECT_NE(err.find("probe family net loaded on retry"), std::string::npos) << err;
    auto s = status_of(dir.path());
    ASSERT_TRUE(s);
    EXPECT_TRUE((*s)["probe_retries"].empty());
    bool net_attached = false;
    for (const auto& p : (*s)["probes"])
        net_attached |= p["family"] == "net" && p["attached"] == true;
    EXPECT_TRUE(net_attached) << s->dump();
    // The other families collected all along: every interval has host CPU.
    EXPECT_GE(points(dir.path(), "cpu_busy_pct"), 25u);
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

TEST(TopHistory, ShowsTheDaemonsPastIntervalByInterval) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    Child spin = Child::spawn({fixture("spin"), "20"});
    write(dir.path() + "/c.toml", "[daemon]\nmin_process_age = 0\n");
    int status = -1;
    std::string err =
        run_perfbpf("daemon --listen 127.0.0.1:0 --config " + dir.path() + "/c.toml --state-dir " +
                        dir.path() + " --interval 0.3 --iterations 8 2>&1 >/dev/null",
                    &status);
    ASSERT_EQ(status, 0) << err;
    std::string out = run_perfbpf(
        "top --history --since 10m --json --state-dir " + dir.path() + " 2>&1", &status);
    ASSERT_EQ(status, 0) << out;
    std::istringstream lines(out);
    std::string line;
    size_t intervals = 0, with_spin = 0;
    while (std::getline(lines, line)) {
        json j = json::parse(line, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << line.substr(0, 300);
        ++intervals;
        EXPECT_NEAR(j["interval_ns"].get<double>(), 0.3e9, 0.25e9);
        ASSERT_TRUE(j.contains("verdicts"));
        for (const auto& p : j["processes"])
            // At load 12 on 2 CPUs a spinning process gets about a sixth of one: what counts
            // is that it is there, with some CPU.
            if (p["pid"] == spin.pid() && p["cpu_pct"].get<double>() > 2) ++with_spin;
    }
    EXPECT_EQ(intervals, 8u) << out.substr(0, 500);
    EXPECT_GE(with_spin, 6u);

    // --at a time after the last interval starts at the last one.
    out = run_perfbpf("top --history --at now --once --json --state-dir " + dir.path() + " 2>&1",
                      &status);
    EXPECT_EQ(status, 1) << out;  // nothing from now on
    EXPECT_NE(out.find("no intervals"), std::string::npos) << out;
    out = run_perfbpf("top --history --at yesterday --state-dir " + dir.path() + " 2>&1", &status);
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("--at"), std::string::npos) << out;
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

TEST(TopRecord, CompactRecordingReplaysEveryInterval) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    const std::string rec = dir.path() + "/rec";
    int status = -1;
    std::string live =
        run_perfbpf("top -n 4 --interval 0.3 --json --record " + rec + " 2>/dev/null", &status);
    ASSERT_EQ(status, 0) << live;
    ASSERT_TRUE(fs::exists(rec + "/history.db"));
    for (const std::string& path : {rec, rec + "/history.db"}) {
        std::string out = run_perfbpf("top --replay " + path + " --json 2>&1", &status);
        ASSERT_EQ(status, 0) << out;
        std::istringstream lines(out);
        std::string line;
        size_t n = 0;
        while (std::getline(lines, line)) {
            json j = json::parse(line, nullptr, false);
            ASSERT_FALSE(j.is_discarded()) << line.substr(0, 300);
            EXPECT_FALSE(j["processes"].empty());
            EXPECT_GT(j["system"]["ncpus"].get<int>(), 0);
            ++n;
        }
        EXPECT_EQ(n, 4u) << path;
    }
    // JSON lines stay available for scripts.
    run_perfbpf(
        "top -n 2 --interval 0.3 --json --record " + dir.path() + "/r.jsonl >/dev/null 2>&1",
        &status);
    EXPECT_EQ(status, 0);
    EXPECT_EQ(std::count(std::istreambuf_iterator<char>(
                             *std::make_unique<std::ifstream>(dir.path() + "/r.jsonl")),
                         {}, '\n'),
              2);
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

// A running daemon's firing alerts reach `top`'s header (from its status file), and `top
// --history` shows the ones firing at each past interval (from its alert_state series).
TEST(TopAlerts, HeaderShowsWhatTheDaemonHasFiring) {
    PERFBPF_REQUIRE_ROOT();
    TempDir dir;
    // Memory in use is above 0 % on any host: fires at once.
    write(dir.path() + "/c.toml",
          "[[alert]]\nname = \"test_memory\"\nselect = \"mem_used_pct\"\naggregate = \"max\"\n"
          "warn = 0.001\ncrit = 0.002\nsummary = \"memory in use {value} %\"\n");
    Child d = start_daemon(
        "--config " + dir.path() + "/c.toml --state-dir " + dir.path() + " --interval 0.5",
        dir.path() + "/log");
    ASSERT_TRUE(wait_status(dir.path(), 20, [](const json& s) {
        return s["alerts"]["firing"].get<int>() >= 1;
    })) << slurp(dir.path() + "/log");
    int status = -1;
    std::string out = run_perfbpf(
        "top --once --plain --interval 0.3 --state-dir " + dir.path() + " 2>&1", &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("ALERTS"), std::string::npos) << out.substr(0, 800);
    EXPECT_NE(out.find("critical test_memory: memory in use"), std::string::npos)
        << out.substr(0, 800);
    out = run_perfbpf("daemon --status --state-dir " + dir.path() + " 2>&1", &status);
    EXPECT_NE(out.find("critical memory in use"), std::string::npos) << out;

    ::kill(d.pid(), SIGTERM);
    EXPECT_EQ(d.wait(), 0);
    // Stopped: its status is stale, so live top shows no alerts from it.
    std::this_thread::sleep_for(std::chrono::milliseconds(3600));
    out = run_perfbpf("top --once --plain --interval 0.3 --state-dir " + dir.path() + " 2>&1",
                      &status);
    EXPECT_EQ(out.find("ALERTS"), std::string::npos) << out.substr(0, 800);
    // The past still has them.
    out = run_perfbpf("top --history --since 10m --plain --state-dir " + dir.path() + " 2>&1",
                      &status);
    EXPECT_EQ(status, 0) << out.substr(0, 800);
    EXPECT_NE(out.find("critical test_memory: host"), std::string::npos) << out.substr(0, 800);
}

}  // namespace
}  // namespace perfbpf
