// The cpu-share tuner against a real kernel, touching only cgroups the test creates: a
// bursty sleeper and a CPU hog pinned to one CPU from two sibling cgroups under a test root
// of ours. `tune --plan` proposes a larger weight for the sleeper and changes nothing;
// `tune --auto --cgroup ROOT` raises it, verifies that the sleeper waits less for the CPU and
// keeps it; the hog's weight is untouched; `--rollback` restores the original. Runs in the
// v1 cpu hierarchy (cpu.shares) and in cgroup v2: cpu.weight where v2 has the cpu
// controller; on a hybrid host whose cpu controller is on v1 (this one), the processes are in
// v2 cgroups and in v1 cpu ones, and the tuner writes the v1 cgroup's cpu.shares that the v2
// samples name. The sleeper's run-queue wait is also read from /proc/PID/schedstat. The
// hog runs at sixteen times the sleeper's weight (cgroup_hog_ratio in cpu_share_fixture.h);
// a sleeper that does not wait leaves nothing to tune: skipped with the numbers, a failure
// under CI=true. A second test puts the sleeper and the hog in one cgroup: the sleeper,
// named with --pid, gets a lower nice instead.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cpu_share_fixture.h"
#include "support.h"
#include "tune/tuners/cpu_share.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using test::Child;
using test::TempDir;
using namespace test;

// `perfbpf tune ARGS` that prints JSON; `doc` is discarded when it did not.
struct JsonRun {
    int status = -1;
    std::string out;
    json doc;
};
JsonRun run_json(const std::string& args) {
    JsonRun r;
    r.out = test::run_perfbpf("tune " + args, &r.status);
    r.doc = json::parse(r.out, nullptr, false);
    return r;
}

// `tune --plan --json` for 3 s, the sleeper's own scheduling measured meanwhile (printed).
JsonRun plan_measuring(const std::string& label, pid_t sleeper, const std::string& scope,
                       const std::string& state, SchedRates* rates) {
    JsonRun r;
    *rates = sched_rates(sleeper, [&] {
        r = run_json("--plan --json --duration 3" + scope + " --state-dir " + state);
    });
    std::printf("[measured] %s: sleeper (schedstat) waits %.1f ms/s, runs %.1f ms/s\n",
                label.c_str(), rates->wait_ms_per_s, rates->oncpu_ms_per_s);
    return r;
}

// `tune --auto` for 14 s (4 s of evidence, the change, 0.5 s settling, 4 s of verification;
// a second change would wait for --min-gap, 60 s), its log printed; then `tune --status`.
JsonRun auto_then_status(const std::string& scope, const std::string& state,
                         const std::string& log) {
    Child tune =
        Child::spawn({"/bin/sh", "-c",
                      "exec " + test::perfbpf_binary() + " tune --auto" + scope +
                          " --interval 0.5 --window 8 --settle 1 --duration 14 --state-dir " +
                          state + " >" + log + " 2>&1"});
    EXPECT_EQ(tune.wait(), 0) << read_file(log).value_or("");
    std::printf("%s", read_file(log).value_or("").c_str());
    return run_json("--status --json --state-dir " + state);
}

TEST(TuneCpuShare, StarvedSleeperGetsMoreWeightAndKeepsIt) {
    PERFBPF_REQUIRE_ROOT();
    auto all = cases();
    if (all.empty()) PERFBPF_SKIP_OR_FAIL("neither a v1 cpu hierarchy nor cgroup v2 is mounted");
    for (Case& cg : all) {
        SCOPED_TRACE(cg.name);
        if (!cg.skip.empty()) PERFBPF_SKIP_OR_FAIL(cg.name + ": " + cg.skip);
        ASSERT_TRUE(cg.knob_tree->error.empty()) << cg.knob_tree->error;
        if (cg.sample_tree) {
            ASSERT_TRUE(cg.sample_tree->error.empty()) << cg.sample_tree->error;
        }
        const Tree& t = *cg.knob_tree;
        // Where the samples are: the knob's tree, or the v2 one of the hybrid case.
        const Tree& seen = cg.sample_tree ? *cg.sample_tree : t;
        ASSERT_EQ(cg.weight(t.lat), cg.original);
        ASSERT_EQ(cg.weight(t.hog), cg.original);
        // The hog's cgroup at sixteen times the sleeper's weight (a batch job given a larger
        // share): see cgroup_hog_ratio. The raise gives the sleeper more than it needs.
        const std::string hog_weight = cg.hog;
        ASSERT_TRUE(write_file(t.hog.dir() + "/" + cg.key, hog_weight));

        // Both on CPU 0 for longer than the test needs; killed at the end.
        auto hog = test::start_in_cgroups(
            cg.procs(&Tree::hog), [] { return selftest::spin_for(60); }, 0);
        ASSERT_TRUE(hog) << hog.error().message;
        auto lat = test::start_in_cgroups(
            cg.procs(&Tree::lat), [] { return cgroup_sleeper(60); }, 0);
        ASSERT_TRUE(lat) << lat.error().message;

        TempDir tmp;
        const std::string state = tmp.path() + "/state", log = tmp.path() + "/auto.log";
        const std::string scope = " --only cpu-share --cgroup " + cg.filter();

        // --plan: the sleeper's weight is proposed, nothing is written.
        SchedRates before;
        JsonRun run = plan_measuring(cg.name, lat->pid(), scope, tmp.path() + "/plan", &before);
        ASSERT_EQ(run.status, 0) << run.out;
        ASSERT_FALSE(run.doc.is_discarded()) << run.out;
        const json plan = run.doc;
        std::string out = run.out;
        int st = -1;
        if (plan["changes"].empty() && !starved(before))
            PERFBPF_SKIP_OR_FAIL(not_starved(cg.name, before));
        ASSERT_EQ(plan["changes"].size(), 1u) << out;
        const json& p = plan["changes"][0];
        std::printf("[measured] %s plan: %s\n", cg.name.c_str(), p.dump().c_str());
        EXPECT_EQ(p["tuner"], "cpu-share");
        EXPECT_EQ(p["knob"], t.lat.dir() + "/" + cg.key);
        EXPECT_EQ(p["scope"], "cgroup:" + t.lat_path);
        EXPECT_EQ(p["current"], cg.original);
        EXPECT_EQ(p["proposed"], cg.raised);
        EXPECT_NE(p["reason"].get<std::string>().find("behind CPU-bound " + seen.hog_path),
                  std::string::npos);
        EXPECT_EQ(cg.weight(t.lat), cg.original);
        EXPECT_EQ(cg.weight(t.hog), hog_weight);
        EXPECT_NE(::access((tmp.path() + "/plan").c_str(), F_OK), 0) << "plan created a state dir";

        // --auto: 4 s of evidence, the raise, 0.5 s settling, 4 s of verification; the next
        // raise would wait for --min-gap (60 s), beyond --duration.
        run = auto_then_status(scope, state, log);
        const std::string lat_after = cg.weight(t.lat), hog_after = cg.weight(t.hog);
        const SchedRates raised_rates = sched_rates(lat->pid(), [] { sleep(4); });
        ASSERT_EQ(run.status, 0) << run.out;
        ASSERT_FALSE(run.doc.is_discarded()) << run.out;
        out = run.out;
        const json& s = run.doc;
        ASSERT_EQ(s["changes"].size(), 1u) << out;  // nothing but the sleeper's weight
        const json& c = s["changes"][0];
        std::printf(
            "[measured] %s: %s of %s %s -> %s (%s); sleeper (schedstat) waits %.1f ms/s at %.1f "
            "ms/s on-CPU before, %.1f at %.1f raised; %s\n",
            cg.name.c_str(), cg.key.c_str(), t.lat_path.c_str(), c.value("original", "?").c_str(),
            lat_after.c_str(), c.value("outcome", "?").c_str(), before.wait_ms_per_s,
            before.oncpu_ms_per_s, raised_rates.wait_ms_per_s, raised_rates.oncpu_ms_per_s,
            c.value("detail", "").c_str());
        EXPECT_EQ(c["knob"], t.lat.dir() + "/" + cg.key);
        EXPECT_EQ(c["scope"], "cgroup:" + t.lat_path);
        EXPECT_EQ(c["original"], cg.original);
        EXPECT_EQ(c["applied"], cg.raised);
        EXPECT_EQ(c["outcome"], "kept") << c.dump();
        EXPECT_EQ(lat_after, cg.raised);
        EXPECT_EQ(hog_after, hog_weight);
        // The scheduler's own count agrees. Before the raise the sleeper waits by arithmetic
        // (its share is under its need: cgroup_hog_ratio) and steadily: 332-549 ms/s. Raised,
        // only the scheduler's latency rules make it wait, and they vary by the hour: 50-129
        // ms/s in some runs, 168-221 in others (2026-12-06; at worst 0.67 of the same run's
        // before, in a fresh root). A raise that bought nothing measured 0.97 (112 -> 109
        // ms/s, the old workload). So a fall by 15 % at least, over 4 s.
        EXPECT_GT(before.wait_ms_per_s, 10.0);
        EXPECT_GE(raised_rates.wait_ms_per_s, 0.0);
        EXPECT_LT(raised_rates.wait_ms_per_s, before.wait_ms_per_s * 0.85);

        // The hog gone, the pressure is gone: --plan proposes the way back to the default
        // (a change --auto would verify on the siblings' waits; nothing waits here, so it
        // would be reverted, and --rollback is what restores the original).
        hog->kill();
        sleep(1);
        const SchedRates alone = sched_rates(lat->pid(), [&] {
            out = test::run_perfbpf(
                "tune --plan --json --duration 3" + scope + " --state-dir " + state, &st);
        });
        ASSERT_EQ(st, 0) << out;
        json back = json::parse(out, nullptr, false);
        ASSERT_FALSE(back.is_discarded()) << out;
        // The way back needs a calm sleeper (the tuner's rule: waits ≤ 1 ms/s or ≤ 3 % of its
        // run time). With other work on CPU 0 (a qemu guest beside the suite: 17 ms/s at
        // 240 ms/s on-CPU) the sleeper still waits and holding the raise is right. Near the
        // limit schedstat's window and the tuner's can fall on either side of it (beside two
        // CPU hogs: calm by schedstat, not by the tuner's window), so only a sleeper at half
        // the limit or less must get the way back.
        const tune::CpuShareConfig rule;
        const double limit =
            std::max(rule.lower_wait_ms_per_s, rule.lower_wait_per_run * alone.oncpu_ms_per_s);
        const bool clearly_calm = alone.wait_ms_per_s <= limit / 2;
        if (!clearly_calm && back["changes"].empty()) {
            std::printf(
                "[measured] %s without the hog: the sleeper still waits %.1f ms/s at "
                "%.1f ms/s on-CPU (the tuner's limit %.1f; other work on CPU 0): no way back "
                "proposed, rightly\n",
                cg.name.c_str(), alone.wait_ms_per_s, alone.oncpu_ms_per_s, limit);
        } else {
            ASSERT_EQ(back["changes"].size(), 1u)
                << out << "\nsleeper alone (schedstat): waits " << alone.wait_ms_per_s
                << " ms/s, runs " << alone.oncpu_ms_per_s << " ms/s";
            std::printf("[measured] %s without the hog: %s\n", cg.name.c_str(),
                        back["changes"][0].value("reason", "").c_str());
            EXPECT_EQ(back["changes"][0]["current"], cg.raised);
            EXPECT_EQ(back["changes"][0]["proposed"], cg.original);
            EXPECT_EQ(back["changes"][0]["original"], cg.original);  // from the journal
        }
        EXPECT_EQ(cg.weight(t.lat), cg.raised);

        out = test::run_perfbpf("tune --rollback --cgroup " + cg.filter() + " --state-dir " + state,
                                &st);
        EXPECT_EQ(st, 0) << out;
        std::printf("%s", out.c_str());
        EXPECT_EQ(cg.weight(t.lat), cg.original);
        EXPECT_EQ(cg.weight(t.hog), hog_weight);
        lat->kill();
    }
}

int nice_of(pid_t pid) {
    errno = 0;
    const int n = ::getpriority(PRIO_PROCESS, id_t(pid));
    return errno ? 100 : n;  // 100: no such process
}

// nice for single processes: the sleeper and the hog in one cgroup of ours (a cgroup weight
// cannot tell them apart), the sleeper named with --pid. --plan proposes nice 0 -> -5 and
// writes nothing; --auto lowers it and keeps it on the sleeper's run-queue wait; the hog
// keeps its nice (-6: weight 3,906 against 1,024); --rollback restores 0. The sleeper (500 us
// bursts in 2.5 ms, a fifth of a CPU) beside the hog has a little over a fifth while both run;
// at nice -5 (3,121) nearly half. The cgroup tests' arrangement (cgroup_hog_ratio: a hog far
// ahead, a sleeper under its share) does not carry over to nice within one cgroup: with the
// hog at -12 the sleeper's wait fell only 325 -> 231 ms/s at -5 (2026-12-06), its on-CPU
// time 51 -> 59 ms/s though its share rose to 17 %.
TEST(TuneCpuShare, StarvedProcessBesideAHogOfItsCgroupGetsALowerNice) {
    PERFBPF_REQUIRE_ROOT();
    auto all = cases();
    if (all.empty()) PERFBPF_SKIP_OR_FAIL("neither a v1 cpu hierarchy nor cgroup v2 is mounted");
    Case& cg = all.front();  // one cgroup tree is enough: both processes go into `lat`
    ASSERT_TRUE(cg.skip.empty()) << cg.skip;
    ASSERT_TRUE(cg.knob_tree->error.empty()) << cg.knob_tree->error;
    auto hog = test::start_in_cgroups(
        cg.procs(&Tree::lat), [] { return selftest::spin_for(60); }, 0);
    ASSERT_TRUE(hog) << hog.error().message;
    constexpr int kHogNice = -6;  // our own child's priority, nothing host-wide
    ASSERT_EQ(::setpriority(PRIO_PROCESS, id_t(hog->pid()), kHogNice), 0) << errno;
    auto lat = test::start_in_cgroups(
        cg.procs(&Tree::lat), [] { return test::bursts(60, 500, 2000); }, 0);
    ASSERT_TRUE(lat) << lat.error().message;
    ASSERT_EQ(nice_of(lat->pid()), 0);
    const std::string pid = std::to_string(lat->pid());
    const std::string scope = " --only cpu-share --pid " + pid;

    TempDir tmp;
    const std::string state = tmp.path() + "/state", log = tmp.path() + "/auto.log";
    SchedRates before;
    JsonRun run = plan_measuring(cg.name, lat->pid(), scope, tmp.path() + "/plan", &before);
    ASSERT_EQ(run.status, 0) << run.out;
    ASSERT_FALSE(run.doc.is_discarded()) << run.out;
    const json plan = run.doc;
    std::string out = run.out;
    int st = -1;
    if (plan["changes"].empty() && !starved(before))
        PERFBPF_SKIP_OR_FAIL(not_starved(cg.name, before));
    ASSERT_EQ(plan["changes"].size(), 1u) << out;
    const json& p = plan["changes"][0];
    std::printf("[measured] plan: %s\n", p.dump().c_str());
    EXPECT_EQ(p["tuner"], "cpu-share");
    EXPECT_EQ(p["scope"], "pid:" + pid);
    EXPECT_EQ(p["knob"], "nice of pid " + pid);
    EXPECT_EQ(p["current"], "0");
    EXPECT_EQ(p["proposed"], "-5");
    EXPECT_NE(p["reason"].get<std::string>().find("behind CPU-bound process " +
                                                  std::to_string(hog->pid())),
              std::string::npos)
        << p.dump();
    EXPECT_EQ(nice_of(lat->pid()), 0);  // the plan wrote nothing

    run = auto_then_status(scope, state, log);
    const SchedRates lowered = sched_rates(lat->pid(), [] { sleep(2); });
    ASSERT_EQ(run.status, 0) << run.out;
    ASSERT_FALSE(run.doc.is_discarded()) << run.out;
    out = run.out;
    const json& s = run.doc;
    ASSERT_EQ(s["changes"].size(), 1u) << out;
    const json& c = s["changes"][0];
    std::printf(
        "[measured] nice of the sleeper 0 -> %d (%s); its run-queue wait (schedstat) "
        "%.1f ms/s before, %.1f ms/s after; %s\n",
        nice_of(lat->pid()), c.value("outcome", "?").c_str(), before.wait_ms_per_s,
        lowered.wait_ms_per_s, c.value("detail", "").c_str());
    EXPECT_EQ(c["scope"], "pid:" + pid);
    EXPECT_EQ(c["original"], "0");
    EXPECT_EQ(c["applied"], "-5");
    EXPECT_EQ(c["outcome"], "kept") << c.dump();
    EXPECT_EQ(nice_of(lat->pid()), -5);
    EXPECT_EQ(nice_of(hog->pid()), kHogNice);
    // The scheduler's own count agrees that the wait fell. Nice -5 against the hog's -6
    // leaves the sleeper a little under half the CPU while both run (a cgroup weight raise
    // makes them equal), and the two schedstat windows are seconds apart: measured 254 -> 91
    // and, on a fresh root, 137 -> 80 ms/s (the tuner's own windows 220 -> 45.5). A fall by
    // a quarter at least.
    EXPECT_LT(lowered.wait_ms_per_s, before.wait_ms_per_s * 0.75);

    out = test::run_perfbpf("tune --rollback --pid " + pid + " --state-dir " + state, &st);
    EXPECT_EQ(st, 0) << out;
    std::printf("%s", out.c_str());
    EXPECT_EQ(nice_of(lat->pid()), 0);
    hog->kill();
    lat->kill();
}

}  // namespace
}  // namespace perfbpf
