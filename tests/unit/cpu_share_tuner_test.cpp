// The cpu-share tuner's decisions over synthetic windows.
#include <gtest/gtest.h>

#include "tune/metrics.h"
#include "tune/registry.h"
#include "tune/tuners/cpu_share.h"
#include "tuner_test_support.h"

namespace perfbpf::tune {
namespace {

// One second of a cgroup's scheduling, as the sched family reports it.
struct Load {
    std::string path;
    double cpus = 0;            // on-CPU seconds
    uint64_t vol_switches = 0;  // sleeps
    double wait_ms = 0;         // run-queue wait
    uint64_t tail_waits = 0;    // of the waits, those of 4 ms (the rest 100 us)
    std::string hierarchy = "v2";
    std::string v1_cpu_path;
    int pid = 0;  // a process of cgroup `path` when set
};

Load load(const std::string& path, double cpus, uint64_t vol_switches, double wait_ms = 0,
          uint64_t tail_waits = 0, const std::string& hierarchy = "v2") {
    Load l;
    l.path = path;
    l.cpus = cpus;
    l.vol_switches = vol_switches;
    l.wait_ms = wait_ms;
    l.tail_waits = tail_waits;
    l.hierarchy = hierarchy;
    return l;
}

template <typename Sample>
void fill(Sample& c, const Load& l) {
    c.oncpu_ns = static_cast<uint64_t>(l.cpus * 1e9);
    c.vol_switches = l.vol_switches;
    c.runq_wait_ns = static_cast<uint64_t>(l.wait_ms * 1e6);
    c.runq_waits = l.vol_switches;
    if (l.vol_switches > l.tail_waits) c.runq_hist.add_us(100, l.vol_switches - l.tail_waits);
    if (l.tail_waits) c.runq_hist.add_us(4000, l.tail_waits);
}

CgroupSample sample(const Load& l) {
    CgroupSample c;
    c.path = l.path;
    c.hierarchy = l.hierarchy;
    c.v1_cpu_path = l.v1_cpu_path;
    fill(c, l);
    c.burst_avg_us = double(c.oncpu_ns) / 1e3 / double(std::max<uint64_t>(l.vol_switches, 1));
    return c;
}

ProcessSample process_sample(const Load& l) {
    ProcessSample p;
    p.pid = l.pid;
    p.comm = "p" + std::to_string(l.pid);
    p.cgroup = l.path;
    fill(p, l);
    return p;
}

// The same load as process `pid` of cgroup `l.path`.
Load as_process(Load l, int pid) {
    l.pid = pid;
    return l;
}

std::vector<Snapshot> window(const std::vector<Load>& loads, int n = 5) {
    std::vector<Snapshot> w(n);
    for (auto& s : w) {
        s.interval_ns = 1'000'000'000;
        for (const Load& l : loads) {
            if (l.pid)
                s.processes.push_back(process_sample(l));
            else
                s.cgroups.push_back(sample(l));
        }
    }
    return w;
}

// A CPU hog: 0.9 CPUs in two bursts a second.
Load hog(const std::string& path, const std::string& hierarchy = "v2") {
    return load(path, 0.9, 2, 0, 0, hierarchy);
}
// A bursty sleeper: 400 wakeups a second, 200 us each, waiting `wait_ms` a second with
// `tail` waits of 4 ms.
Load sleeper(const std::string& path, double wait_ms, uint64_t tail,
             const std::string& hierarchy = "v2") {
    return load(path, 0.08, 400, wait_ms, tail, hierarchy);
}

KnobId weight(const std::string& path) {
    return {KnobKind::cgroup, "cpu.weight", Scope::cgroup(path)};
}
KnobId shares(const std::string& path) {
    return {KnobKind::cgroup, "cpu.shares", Scope::cgroup(path)};
}

std::vector<Recommendation> decide(const std::vector<Snapshot>& w, const KnobValues& k,
                                   const ScopeFilter& f = {}, CpuShareConfig c = {}) {
    return test::decide_with(*make_cpu_share_tuner(std::move(c)), w, k, f);
}

std::vector<KnobId> wants(const std::vector<Snapshot>& w, const ScopeFilter& f = {}) {
    TunerInput in{w, nullptr, &f};
    return make_cpu_share_tuner()->wants(in);
}

KnobId nice(int pid) {
    return {KnobKind::nice, "nice", Scope::pid(pid)};
}
ScopeFilter only_pid(int pid) {
    ScopeFilter f;
    f.pids = {std::to_string(pid)};
    return f;
}

ScopeFilter only_cgroup(const std::string& path) {
    ScopeFilter f;
    f.cgroups = {path};
    return f;
}

// The hog and a sleeper that waits 60 ms/s with a 4 ms tail, both under /t.
const std::vector<Load> kStarved = {hog("/t/hog"), sleeper("/t/lat", 60, 8)};

TEST(CpuShareTuner, IsRegistered) {
    auto names = tuner_names();
    EXPECT_NE(std::find(names.begin(), names.end(), "cpu-share"), names.end());
}

TEST(CpuShareTuner, StarvedSleeperBesideAHogGetsMoreWeight) {
    auto w = window(kStarved);
    // Only the sleeper's weight is asked about: the hog's is never touched.
    EXPECT_EQ(wants(w), std::vector<KnobId>{weight("/t/lat")});
    auto rs = decide(w, {{weight("/t/lat"), {"100", {}}}, {weight("/t/hog"), {"100", {}}}});
    ASSERT_EQ(rs.size(), 1u);
    const Recommendation& r = rs[0];
    EXPECT_EQ(r.knob, weight("/t/lat"));
    EXPECT_EQ(r.current, "100");
    EXPECT_EQ(r.proposed, "400");
    EXPECT_EQ(r.direction, +1);
    EXPECT_NE(test::reason_text(r).find("waits 60 ms/s"), std::string::npos)
        << test::reason_text(r);
    EXPECT_NE(test::reason_text(r).find("behind CPU-bound /t/hog"), std::string::npos)
        << test::reason_text(r);
    EXPECT_EQ(r.target.spec.name, "runq_wait_ms_per_s @ cgroup:/t/lat");
    EXPECT_EQ(r.target.spec.better, Better::lower);
    EXPECT_EQ(r.guard.spec.name, "oncpu_s_per_s @ cgroup:/t/hog");
    EXPECT_EQ(r.guard.spec.better, Better::higher);
    EXPECT_DOUBLE_EQ(*r.target.value(w[0]), 60);
    EXPECT_DOUBLE_EQ(*r.guard.value(w[0]), 0.9);
    const KnobSpec& spec = *find_knob_spec(KnobKind::cgroup, "cpu.weight");
    EXPECT_TRUE(check_change(spec, {"100", {}}, r.proposed));
}

TEST(CpuShareTuner, PlanLinesInHumanUnits) {
    auto rs = decide(window(kStarved), {{weight("/t/lat"), {"100", {}}}});
    ASSERT_EQ(rs.size(), 1u);
    const std::string text = test::plan_text("cpu-share", rs[0]);
    test::expect_human_units(text);
    EXPECT_NE(text.find("  100 -> 400\n"), std::string::npos) << text;
    EXPECT_NE(text.find("why: cgroup /t/lat waits 60 ms/s for the CPU (run-queue p99 "),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("behind CPU-bound /t/hog (0.9 CPUs, bursts of 450 ms)"), std::string::npos)
        << text;
    EXPECT_NE(text.find("evidence: runq_wait 60 ms/s, runq_wait_per_oncpu 75 %, "),
              std::string::npos)
        << text;
}

TEST(CpuShareTuner, V1CpuHierarchyUsesCpuShares) {
    auto w = window({hog("/t/hog", "cpu"), sleeper("/t/lat", 60, 8, "cpu")});
    EXPECT_EQ(wants(w), std::vector<KnobId>{shares("/t/lat")});
    auto rs = decide(w, {{shares("/t/lat"), {"1024", {}}}});
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].knob, shares("/t/lat"));
    EXPECT_EQ(rs[0].proposed, "4096");
    EXPECT_EQ(rs[0].target.spec.name, "runq_wait_ms_per_s @ cgroup:/t/lat (v1 cpu)");
    EXPECT_DOUBLE_EQ(*rs[0].target.value(w[0]), 60);
    const KnobSpec& spec = *find_knob_spec(KnobKind::cgroup, "cpu.shares");
    EXPECT_TRUE(check_change(spec, {"1024", {}}, rs[0].proposed));
}

TEST(CpuShareTuner, V2SampleWithoutCpuWeightFallsBackToItsV1CpuCgroup) {
    // A hybrid host: the cpu controller is on v1, so the v2 cgroup has no cpu.weight.
    Load h = hog("/t/hog"), l = sleeper("/t/lat", 60, 8);
    h.v1_cpu_path = "/u/hog";
    l.v1_cpu_path = "/u/lat";
    auto w = window({h, l});
    EXPECT_EQ(wants(w), (std::vector<KnobId>{weight("/t/lat"), shares("/u/lat")}));
    auto rs = decide(w, {{shares("/u/lat"), {"1024", {}}}});
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].knob, shares("/u/lat"));
    EXPECT_EQ(rs[0].proposed, "4096");
    // With cpu.weight readable, v2 wins.
    rs = decide(w, {{weight("/t/lat"), {"100", {}}}, {shares("/u/lat"), {"1024", {}}}});
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].knob, weight("/t/lat"));
    // Both in one v1 cpu cgroup: no weight tells them apart.
    h.v1_cpu_path = l.v1_cpu_path = "/u/both";
    EXPECT_TRUE(decide(window({h, l}), {{shares("/u/both"), {"1024", {}}}}).empty());
    // And the root's weight is never a candidate.
    h.v1_cpu_path = l.v1_cpu_path = "/";
    EXPECT_EQ(wants(window({h, l})), std::vector<KnobId>{weight("/t/lat")});
}

TEST(CpuShareTuner, NoCompetitorNoChange) {
    const KnobValues k = {{weight("/t/lat"), {"100", {}}}};
    // It waits, but nothing CPU-bound is beside it (the CPU is busy with something else).
    EXPECT_TRUE(decide(window({sleeper("/t/lat", 60, 8)}), k).empty());
    // A busy sibling that sleeps often is no hog.
    Load busy = load("/t/busy", 0.9, 500);
    EXPECT_TRUE(decide(window({busy, sleeper("/t/lat", 60, 8)}), k).empty());
    // A hog under another parent is a cousin: the parents' weights divide their CPU.
    EXPECT_TRUE(decide(window({hog("/u/hog"), sleeper("/t/lat", 60, 8)}), k).empty());
    // Two hogs: neither is latency-sensitive.
    EXPECT_TRUE(wants(window({hog("/t/a"), hog("/t/b")})).empty());
}

TEST(CpuShareTuner, NeedsEnoughIntervalsAndARealTail) {
    const KnobValues k = {{weight("/t/lat"), {"100", {}}}};
    EXPECT_TRUE(decide(window(kStarved, 2), k).empty());
    // Waits without a tail (every wait 100 us): p99 below raise_p99_us.
    EXPECT_TRUE(decide(window({hog("/t/hog"), sleeper("/t/lat", 60, 0)}), k).empty());
}

TEST(CpuShareTuner, DeadBandBetweenRaiseAndLower) {
    // 5 ms/s: too little to raise at the default weight, too much to lower a raised one.
    for (const char* cur : {"100", "400"}) {
        SCOPED_TRACE(cur);
        EXPECT_TRUE(decide(window({hog("/t/hog"), sleeper("/t/lat", 5, 8)}),
                           {{weight("/t/lat"), {cur, {}}}})
                        .empty());
        EXPECT_TRUE(
            decide(window({sleeper("/t/lat", 5, 8)}), {{weight("/t/lat"), {cur, {}}}}).empty());
    }
}

TEST(CpuShareTuner, RaisedWeightBesideAStillRunningHogStays) {
    // Its waits are low because of the raise; the hog is still there: no lower.
    auto rs = decide(window({hog("/t/hog"), sleeper("/t/lat", 0.2, 0)}),
                     {{weight("/t/lat"), {"400", {}}}});
    EXPECT_TRUE(rs.empty());
}

TEST(CpuShareTuner, LowersBackTowardsTheDefaultWhenThePressureIsGone) {
    auto w = window({sleeper("/t/lat", 0.2, 0), load("/t/other", 0.1, 0, 3)});
    auto rs = decide(w, {{weight("/t/lat"), {"400", {}}}});
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].knob, weight("/t/lat"));
    EXPECT_EQ(rs[0].proposed, "100");
    EXPECT_EQ(rs[0].direction, -1);
    EXPECT_EQ(rs[0].target.spec.name, "siblings_runq_wait_ms_per_s @ cgroup:/t/lat");
    EXPECT_DOUBLE_EQ(*rs[0].target.value(w[0]), 3);  // /t/other's waits, not its own
    EXPECT_EQ(rs[0].guard.spec.name, "runq_wait_ms_per_s @ cgroup:/t/lat");
    const KnobSpec& spec = *find_knob_spec(KnobKind::cgroup, "cpu.weight");
    EXPECT_TRUE(check_change(spec, {"400", {}}, rs[0].proposed));
    // One step at a time, never below the default, and never from below it.
    w = window({sleeper("/t/lat", 0.2, 0)});
    EXPECT_EQ(decide(w, {{weight("/t/lat"), {"1000", {}}}})[0].proposed, "250");
    EXPECT_EQ(decide(w, {{weight("/t/lat"), {"150", {}}}})[0].proposed, "100");
    EXPECT_TRUE(decide(w, {{weight("/t/lat"), {"100", {}}}}).empty());
    EXPECT_TRUE(decide(w, {{weight("/t/lat"), {"50", {}}}}).empty());
    // A busier sleeper meets stray waits (kernel threads on its CPU): 3.5 ms/s at 0.2 CPUs
    // is no pressure (measured on the host after the hog was gone); the same waits at 0.08
    // CPUs are not clearly absent.
    EXPECT_EQ(
        decide(window({load("/t/lat", 0.2, 400, 3.5)}), {{weight("/t/lat"), {"400", {}}}}).size(),
        1u);
    EXPECT_TRUE(
        decide(window({sleeper("/t/lat", 3.5, 0)}), {{weight("/t/lat"), {"400", {}}}}).empty());
    // v1: down to 1024.
    auto v1 = window({sleeper("/t/lat", 0.2, 0, "cpu")});
    EXPECT_EQ(decide(v1, {{shares("/t/lat"), {"4096", {}}}})[0].proposed, "1024");
}

TEST(CpuShareTuner, StopsAtTheCeiling) {
    auto w = window(kStarved);
    EXPECT_EQ(decide(w, {{weight("/t/lat"), {"400", {}}}})[0].proposed, "1000");
    EXPECT_TRUE(decide(w, {{weight("/t/lat"), {"1000", {}}}}).empty());
    auto v1 = window({hog("/t/hog", "cpu"), sleeper("/t/lat", 60, 8, "cpu")});
    EXPECT_EQ(decide(v1, {{shares("/t/lat"), {"4096", {}}}})[0].proposed, "10240");
    EXPECT_TRUE(decide(v1, {{shares("/t/lat"), {"10240", {}}}}).empty());
    CpuShareConfig c;
    c.weight_ceiling = 200;
    EXPECT_EQ(decide(w, {{weight("/t/lat"), {"100", {}}}}, {}, c)[0].proposed, "200");
}

TEST(CpuShareTuner, RespectsTheCgroupFilter) {
    auto w = window(kStarved);
    const KnobValues k = {{weight("/t/lat"), {"100", {}}}};
    EXPECT_TRUE(wants(w, only_cgroup("/t/hog")).empty());
    EXPECT_TRUE(decide(w, k, only_cgroup("/t/hog")).empty());
    EXPECT_TRUE(decide(w, k, only_cgroup("/tt")).empty());
    EXPECT_EQ(decide(w, k, only_cgroup("/t")).size(), 1u);
    EXPECT_EQ(decide(w, k, only_cgroup("/t/lat")).size(), 1u);
    ScopeFilter devices;
    devices.devices = {"loop3"};
    EXPECT_TRUE(decide(w, k, devices).empty());
}

TEST(CpuShareTuner, ConfiguredCgroupIsLatencySensitiveWhateverItsBursts) {
    // 20 wakeups a second of 4 ms each: not detected as latency-sensitive.
    Load l = load("/t/ui", 0.08, 20, 60, 2);
    auto w = window({hog("/t/hog"), l});
    const KnobValues k = {{weight("/t/ui"), {"100", {}}}};
    EXPECT_TRUE(decide(w, k).empty());
    CpuShareConfig c;
    c.latency_sensitive = {"/t/ui"};
    auto rs = decide(w, k, {}, c);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_NE(rs[0].reason.find("configured"), std::string::npos) << rs[0].reason;
}

TEST(CpuShareTuner, CgroupParentAndMetrics) {
    EXPECT_EQ(cgroup_parent("/a/b"), "/a");
    EXPECT_EQ(cgroup_parent("/a"), "/");
    EXPECT_EQ(cgroup_parent("/"), "/");
    auto w = window(kStarved);
    w[0].interval_ns = 500'000'000;
    EXPECT_DOUBLE_EQ(*cgroup_metric(CgroupMetric::runq_wait_ms_per_s, "/t/lat", "v2").value(w[0]),
                     120);
    EXPECT_DOUBLE_EQ(*cgroup_metric(CgroupMetric::oncpu_s_per_s, "/t/hog", "v2").value(w[0]), 1.8);
    // Absent (or in another hierarchy): it ran nothing.
    EXPECT_DOUBLE_EQ(*cgroup_metric(CgroupMetric::oncpu_s_per_s, "/t/hog", "cpu").value(w[0]), 0);
    EXPECT_DOUBLE_EQ(
        *cgroup_metric(CgroupMetric::siblings_runq_wait_ms_per_s, "/t/hog", "v2").value(w[0]), 120);
}

// Processes 10 (a hog) and 11 (a starved sleeper), both in cgroup /t.
const std::vector<Load> kStarvedProcesses = {as_process(hog("/t"), 10),
                                             as_process(sleeper("/t", 60, 8), 11)};

TEST(CpuShareTuner, NamedProcessBehindAHogOfItsCgroupGetsALowerNice) {
    auto w = window(kStarvedProcesses);
    EXPECT_EQ(wants(w, only_pid(11)), std::vector<KnobId>{nice(11)});
    auto rs = decide(w, {{nice(11), {"0", {}}}}, only_pid(11));
    ASSERT_EQ(rs.size(), 1u);
    const Recommendation& r = rs[0];
    EXPECT_EQ(r.knob, nice(11));
    EXPECT_EQ(r.current, "0");
    EXPECT_EQ(r.proposed, "-5");
    EXPECT_EQ(r.direction, -1);
    EXPECT_NE(test::reason_text(r).find("process 11 (p11) waits 60 ms/s"), std::string::npos)
        << test::reason_text(r);
    EXPECT_NE(test::reason_text(r).find("behind CPU-bound process 10 (p10)"), std::string::npos)
        << test::reason_text(r);
    EXPECT_EQ(r.target.spec.name, "runq_wait_ms_per_s @ pid:11");
    EXPECT_EQ(r.guard.spec.name, "oncpu_s_per_s @ pid:10");
    EXPECT_DOUBLE_EQ(*r.target.value(w[0]), 60);
    EXPECT_DOUBLE_EQ(*r.guard.value(w[0]), 0.9);
    const KnobSpec& spec = *find_knob_spec(KnobKind::nice, "nice");
    EXPECT_TRUE(check_change(spec, {"0", {}}, r.proposed));
    // Down to the floor, one step at a time, and no further.
    EXPECT_EQ(decide(w, {{nice(11), {"-8", {}}}}, only_pid(11))[0].proposed, "-10");
    EXPECT_TRUE(decide(w, {{nice(11), {"-10", {}}}}, only_pid(11)).empty());
}

TEST(CpuShareTuner, NiceOnlyForNamedProcessesAndOnlyAgainstItsOwnCgroup) {
    const KnobValues k = {{nice(11), {"0", {}}}, {nice(10), {"0", {}}}};
    // Not named: no process is touched (and there is no cgroup sample to weigh).
    EXPECT_TRUE(decide(window(kStarvedProcesses), k).empty());
    EXPECT_TRUE(wants(window(kStarvedProcesses)).empty());
    // The hog named: it is not latency-sensitive.
    EXPECT_TRUE(decide(window(kStarvedProcesses), k, only_pid(10)).empty());
    // A hog in another cgroup: nice cannot reach across cgroups.
    auto apart = window({as_process(hog("/u"), 10), as_process(sleeper("/t", 60, 8), 11)});
    EXPECT_TRUE(decide(apart, k, only_pid(11)).empty());
    // Waits without a tail: not starved.
    auto mild = window({as_process(hog("/t"), 10), as_process(sleeper("/t", 60, 0), 11)});
    EXPECT_TRUE(decide(mild, k, only_pid(11)).empty());
}

TEST(CpuShareTuner, NiceGoesBackUpWhenTheHogIsGone) {
    auto w = window({as_process(sleeper("/t", 0.2, 0), 11), as_process(load("/t", 0.1, 0, 3), 12)});
    auto rs = decide(w, {{nice(11), {"-7", {}}}}, only_pid(11));
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].proposed, "-2");
    EXPECT_EQ(rs[0].direction, +1);
    EXPECT_EQ(rs[0].target.spec.name, "cgroup_mates_runq_wait_ms_per_s @ pid:11");
    EXPECT_DOUBLE_EQ(*rs[0].target.value(w[0]), 3);  // process 12's waits
    EXPECT_EQ(rs[0].guard.spec.name, "runq_wait_ms_per_s @ pid:11");
    EXPECT_EQ(decide(w, {{nice(11), {"-3", {}}}}, only_pid(11))[0].proposed, "0");
    // At or above the default: not ours to change.
    EXPECT_TRUE(decide(w, {{nice(11), {"0", {}}}}, only_pid(11)).empty());
    EXPECT_TRUE(decide(w, {{nice(11), {"5", {}}}}, only_pid(11)).empty());
    // The hog still there: its low waits are the lower nice's doing.
    auto still = window({as_process(hog("/t"), 10), as_process(sleeper("/t", 0.2, 0), 11)});
    EXPECT_TRUE(decide(still, {{nice(11), {"-5", {}}}}, only_pid(11)).empty());
}

}  // namespace
}  // namespace perfbpf::tune
