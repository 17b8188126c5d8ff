// The memory tuner's decisions over synthetic windows.
#include <gtest/gtest.h>

#include <algorithm>

#include "tune/metrics.h"
#include "tune/registry.h"
#include "tune/tuners/memory.h"
#include "tuner_test_support.h"

namespace perfbpf::tune {
namespace {

using test::evidence_value;
using test::reason_text;

constexpr uint64_t MiB = 1ull << 20;

// One cgroup's levels (end of each interval) and per-interval events.
struct Cg {
    std::string path = "/t";
    uint64_t current = 100 * MiB;
    uint64_t anon = 10 * MiB, inactive_anon = 5 * MiB;
    uint64_t file = 90 * MiB, inactive_file = 80 * MiB;
    double psi_pct = 0.1;
    uint64_t refault_pages = 0, majfaults = 0;
    uint64_t high_events = 0;  // per interval
    std::string hierarchy = "v2", source = "v2";
    bool has_psi = true;
};

// Host-wide, per one-second interval.
struct Host {
    uint64_t swap_total = 0;
    uint64_t file_refaults = 0, anon_refaults = 0, swapins = 0, majfaults = 0;
};

std::vector<Snapshot> window(const Cg& c, const Host& h = {}, int n = 5) {
    std::vector<Snapshot> w(n);
    for (auto& s : w) {
        s.interval_ns = 1'000'000'000;
        s.system.swap_total_bytes = h.swap_total;
        s.system.workingset_refault_file = h.file_refaults;
        s.system.workingset_refault_anon = h.anon_refaults;
        s.system.pages_swapped_in = h.swapins;
        s.system.major_faults = h.majfaults;
        CgroupSample g;
        g.path = c.path;
        g.hierarchy = c.hierarchy;
        g.memory.source = c.source;
        if (c.source.empty()) g.memory.unavailable = "no memory.current";
        g.memory.current_bytes = c.current;
        g.memory.anon_bytes = c.anon;
        g.memory.inactive_anon_bytes = c.inactive_anon;
        g.memory.active_anon_bytes = c.anon - c.inactive_anon;
        g.memory.file_bytes = c.file;
        g.memory.inactive_file_bytes = c.inactive_file;
        g.memory.active_file_bytes = c.file - c.inactive_file;
        g.memory.workingset_refault_file = c.refault_pages;
        g.memory.workingset_refault_anon = 0;
        g.memory.pgmajfault = c.majfaults;
        g.memory.high_events = c.high_events;
        g.psi_memory.available = c.has_psi;
        g.psi_memory.some.interval_pct = c.psi_pct;
        if (!c.has_psi) g.psi_unavailable = "no memory.pressure";
        s.cgroups.push_back(g);
    }
    return w;
}

KnobId high(const std::string& path = "/t") {
    return {KnobKind::cgroup, "memory.high", Scope::cgroup(path)};
}
KnobId swappiness() {
    return {KnobKind::sysctl, "vm.swappiness", Scope::host()};
}

KnobValues knobs(const std::string& high_value = "max",
                 const std::string& swappiness_value = "60") {
    KnobValues v;
    v[high()] = {high_value, {}};
    v[swappiness()] = {swappiness_value, {}};
    return v;
}

ScopeFilter only(const std::string& cgroup = "/t") {
    ScopeFilter f;
    f.cgroups = {cgroup};
    return f;
}

std::vector<Recommendation> decide(const std::vector<Snapshot>& w, const KnobValues& k,
                                   const ScopeFilter& f, MemoryConfig c = {}) {
    return test::decide_with(*make_memory_tuner(c), w, k, f);
}

// The proposal for /t's memory.high under `--cgroup /t`, if any.
std::optional<Recommendation> high_rec(const Cg& c, const std::string& value, const Host& h = {}) {
    return test::find_rec(decide(window(c, h), knobs(value), only()), high());
}

bool allowed(const KnobId& id, const std::string& from, const std::string& to) {
    const KnobSpec* spec = find_knob_spec(id.kind, id.key);
    return spec && check_change(*spec, {from, {}}, to).has_value();
}

TEST(MemoryTuner, IsRegistered) {
    auto names = tuner_names();
    EXPECT_NE(std::find(names.begin(), names.end(), "memory"), names.end());
}

TEST(MemoryTuner, ColdCalmCgroupGetsMemoryHighUnderItsUseFromMax) {
    auto r = high_rec({}, "max");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->current, "max");
    EXPECT_EQ(r->proposed, std::to_string(90 * MiB));  // 10 % under memory.current
    EXPECT_EQ(r->direction, -1);
    EXPECT_FALSE(r->relief);
    EXPECT_TRUE(r->unavailable.empty());
    EXPECT_EQ(r->target.spec.name, "memory_current_bytes @ cgroup:/t");
    EXPECT_EQ(r->target.spec.better, Better::lower);
    EXPECT_EQ(r->guard.spec.name, "psi_memory_some_pct @ cgroup:/t");
    EXPECT_NE(reason_text(*r).find("80 % of /t's memory is inactive page cache"), std::string::npos)
        << reason_text(*r);
    EXPECT_TRUE(allowed(high(), "max", r->proposed));
}

TEST(MemoryTuner, LowersANumberOneStepUnderUse) {
    auto r = high_rec({}, std::to_string(110 * MiB));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, std::to_string(90 * MiB));
    EXPECT_TRUE(allowed(high(), std::to_string(110 * MiB), r->proposed));
    // The step is taken from memory.current, not from the limit: 200 MiB used, 10 % under.
    r = high_rec({.current = 200 * MiB, .file = 190 * MiB, .inactive_file = 150 * MiB},
                 std::to_string(210 * MiB));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, std::to_string(180 * MiB));
}

TEST(MemoryTuner, PlanLinesInHumanUnits) {
    auto r = high_rec({}, std::to_string(110 * MiB));
    ASSERT_TRUE(r);
    const std::string text = test::plan_text("memory", *r);
    test::expect_human_units(text);
    EXPECT_NE(text.find("  110 MiB -> 90 MiB\n"), std::string::npos) << text;
    EXPECT_NE(text.find("why: 80 % of /t's memory is inactive page cache and its memory pressure "
                        "is 0.1 % (target 0.5 %): lowering memory.high under its use of 100 MiB\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("evidence: psi_memory_some 0.1 %, memory_current 100 MiB, inactive 80 %"),
              std::string::npos)
        << text;
    // The raw pair, as the plan shows it now.
    EXPECT_EQ(format_knob_change(high(), "1656033964", "1536836583"), "1.54 GiB -> 1.43 GiB");
    // A step too small for three digits is shown exactly.
    EXPECT_EQ(format_knob_change(high(), "1656033280", "1656029184"), "1617220 KiB -> 1617216 KiB");
    EXPECT_EQ(format_knob_value(high(), "max"), "max");

    auto s = test::find_rec(
        decide(window({}, {.swap_total = 1024 * MiB, .file_refaults = 500, .anon_refaults = 20}),
               knobs(), ScopeFilter{}),
        swappiness());
    ASSERT_TRUE(s);
    const std::string st = test::plan_text("memory", *s);
    test::expect_human_units(st);
    EXPECT_NE(st.find("  60 -> 80\n"), std::string::npos) << st;
    EXPECT_NE(st.find("why: 500/s page-cache refaults while anonymous memory stays out (20/s anon "
                      "refaults + swap-ins)"),
              std::string::npos)
        << st;
}

TEST(MemoryTuner, NeverMoreThanHalvesALimit) {
    // 190 MiB for 100 MiB used: 90 MiB would be more than the allowlist's halving: 95 MiB.
    auto r = high_rec({}, std::to_string(190 * MiB));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, std::to_string(95 * MiB));
    EXPECT_TRUE(allowed(high(), std::to_string(190 * MiB), r->proposed));
    // 300 MiB for 100 MiB: even halved it would stay above use and reclaim nothing.
    EXPECT_FALSE(high_rec({}, std::to_string(300 * MiB)));
}

TEST(MemoryTuner, NeverBelowTheFloor) {
    // 34 MiB used: 10 % under is 30.6 MiB, under the 32 MiB floor.
    Cg small{.current = 34 * MiB, .anon = 2 * MiB, .file = 32 * MiB, .inactive_file = 30 * MiB};
    auto r = high_rec(small, "max");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, std::to_string(32 * MiB));
    // At the floor already: nothing.
    EXPECT_FALSE(high_rec(small, std::to_string(32 * MiB)));
    // Under min_current_bytes (32 MiB): left alone.
    EXPECT_FALSE(
        high_rec({.current = 20 * MiB, .file = 18 * MiB, .inactive_file = 15 * MiB}, "max"));
}

TEST(MemoryTuner, DeadBandAndWarmMemoryProposeNothing) {
    // Pressure between target (0.5 %) and relax (1 %): neither lower nor relax.
    EXPECT_FALSE(high_rec({.psi_pct = 0.7}, std::to_string(110 * MiB)));
    // Just over the target: nothing either.
    EXPECT_FALSE(high_rec({.psi_pct = 0.51}, "max"));
    // Warm: 30 % inactive.
    EXPECT_FALSE(high_rec({.inactive_file = 30 * MiB}, "max"));
    // Its working set refaults: 1000 pages/interval = 19.5 MiB in the window, > 1 % of use.
    EXPECT_FALSE(high_rec({.refault_pages = 1000}, "max"));
    // A few refaults (10 pages/interval, 200 KiB in the window) do not count as warm.
    EXPECT_TRUE(high_rec({.refault_pages = 10}, "max"));
    // Major faults: 30/s > 20/s.
    EXPECT_FALSE(high_rec({.majfaults = 30}, "max"));
}

TEST(MemoryTuner, InactiveAnonIsColdOnlyWithSwap) {
    Cg c{.anon = 50 * MiB, .inactive_anon = 40 * MiB, .file = 50 * MiB, .inactive_file = 30 * MiB};
    EXPECT_FALSE(high_rec(c, "max"));  // 30 % reclaimable without swap
    auto r = high_rec(c, "max", {.swap_total = 1024 * MiB});
    ASSERT_TRUE(r);  // 70 % with it
    EXPECT_EQ(r->proposed, std::to_string(90 * MiB));
    EXPECT_DOUBLE_EQ(evidence_value(*r, "inactive_share"), 0.7);
}

TEST(MemoryTuner, PressureAboveRelaxRaisesAtOnceAsRelief) {
    // Warm and stalling 3 % of the time under a 64 MiB limit: double it, a relief move.
    Cg stalled{.current = 64 * MiB, .inactive_file = 10 * MiB, .psi_pct = 3.0, .high_events = 40};
    auto r = high_rec(stalled, std::to_string(64 * MiB));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, std::to_string(128 * MiB));
    EXPECT_EQ(r->direction, +1);
    EXPECT_TRUE(r->relief);
    EXPECT_EQ(r->target.spec.name, "psi_memory_some_pct @ cgroup:/t");
    EXPECT_EQ(r->guard.spec.name, "memory_current_bytes @ cgroup:/t");
    EXPECT_NE(reason_text(*r).find("memory pressure 3 % (above 1 %) with use over memory.high "
                                   "64 MiB 200 times"),
              std::string::npos)
        << reason_text(*r);
    EXPECT_TRUE(allowed(high(), std::to_string(64 * MiB), r->proposed));
    // Just above relax_psi_pct is enough; at it, the dead band.
    EXPECT_TRUE(high_rec({.psi_pct = 1.01, .high_events = 1}, std::to_string(64 * MiB)));
    EXPECT_FALSE(high_rec({.psi_pct = 1.0, .high_events = 1}, std::to_string(64 * MiB)));
    // No limit to relax: nothing.
    EXPECT_FALSE(high_rec({.psi_pct = 3.0, .high_events = 40}, "max"));
}

TEST(MemoryTuner, PressureWithoutBreachesOfTheLimitIsNotRelaxed) {
    // Stalls while use stayed under memory.high: host-wide pressure, or throttling sleeps
    // from before a raise that outlast it. A higher limit would not help: nothing (and no
    // lowering either: the pressure is above target).
    EXPECT_FALSE(high_rec({.psi_pct = 30.0, .high_events = 0}, std::to_string(64 * MiB)));
    // One breach in one interval of the window is enough.
    auto w = window({.psi_pct = 30.0});
    w[4].cgroups[0].memory.high_events = 1;
    auto r = test::find_rec(decide(w, knobs(std::to_string(64 * MiB)), only()), high());
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->relief);
    EXPECT_DOUBLE_EQ(evidence_value(*r, "memory_high_events"), 1);
}

TEST(MemoryTuner, MeanPressureOverTheWindowDecides) {
    // One stalled interval of five (5 %): mean 1 %, the dead band's top: nothing.
    auto w = window({.psi_pct = 0, .high_events = 1});
    w[2].cgroups[0].psi_memory.some.interval_pct = 5.0;
    EXPECT_FALSE(test::find_rec(decide(w, knobs(std::to_string(64 * MiB)), only()), high()));
    w[3].cgroups[0].psi_memory.some.interval_pct = 5.0;  // mean 2 %: relax
    auto r = test::find_rec(decide(w, knobs(std::to_string(64 * MiB)), only()), high());
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->relief);
    EXPECT_DOUBLE_EQ(evidence_value(*r, "psi_memory_some_pct"), 2.0);
}

TEST(MemoryTuner, OnlyCgroupsTheFilterNames) {
    // No --cgroup: memory.high is not tuned at all (and no note either).
    auto rs = decide(window({}), knobs(), ScopeFilter{});
    EXPECT_FALSE(test::find_rec(rs, high()));
    // A filter naming another cgroup.
    EXPECT_TRUE(decide(window({}), knobs(), only("/other")).empty());
    // A filter naming a parent covers its subtree.
    EXPECT_TRUE(test::find_rec(decide(window({}), knobs(), only("/")), high()));
    auto t = make_memory_tuner();
    auto w = window({});
    KnobValues k = knobs();
    ScopeFilter f = only();
    TunerInput in{w, &k, &f};
    auto wants = t->wants(in);
    EXPECT_NE(std::find(wants.begin(), wants.end(), high()), wants.end());
    EXPECT_EQ(std::find(wants.begin(), wants.end(), swappiness()), wants.end());
}

TEST(MemoryTuner, TooShortAWindowProposesNothing) {
    auto w = window({}, {}, 2);  // min_intervals is 3
    EXPECT_TRUE(decide(w, knobs(), only()).empty());
}

TEST(MemoryTuner, V1MemoryHierarchyGetsANoteNotAChange) {
    // A cgroup only known in the v1 memory hierarchy.
    auto r = high_rec({.hierarchy = "memory", .source = "v1", .has_psi = false}, "max");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->unavailable, "memory.high needs cgroup v2; /t is in the v1 memory hierarchy");
    EXPECT_TRUE(r->proposed.empty());
    // Hybrid host: a v2 cgroup whose memory data comes from the v1 memory controller.
    r = high_rec({.hierarchy = "v2", .source = "v1"}, "max");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->unavailable,
              "memory.high needs cgroup v2; the memory controller of /t is on v1 (hybrid host)");
    // And memory.high is not even read for it.
    auto t = make_memory_tuner();
    auto w = window({.source = "v1"});
    KnobValues k;
    ScopeFilter f = only();
    TunerInput in{w, &k, &f};
    EXPECT_TRUE(t->wants(in).empty());
    // The note is made without a memory.high value.
    auto rs = t->decide(in);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_FALSE(rs[0].unavailable.empty());
}

TEST(MemoryTuner, NoMemoryControllerOrNoPsiGetsANote) {
    auto r = high_rec({.source = ""}, "max");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->unavailable, "no memory data for /t: no memory.current");
    r = high_rec({.has_psi = false}, "max");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->unavailable, "no memory pressure (PSI) for /t: no memory.pressure");
}

// vm.swappiness: host-wide, so only without a filter.
std::optional<Recommendation> swappiness_rec(const Host& h, const std::string& value = "60") {
    return test::find_rec(decide(window({}, h), knobs("max", value), ScopeFilter{}), swappiness());
}

constexpr uint64_t kSwap = 1024 * MiB;

TEST(MemoryTuner, PageCacheRefaultsWithColdAnonRaiseSwappiness) {
    auto r = swappiness_rec({.swap_total = kSwap, .file_refaults = 500, .anon_refaults = 20});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->current, "60");
    EXPECT_EQ(r->proposed, "80");
    EXPECT_EQ(r->direction, +1);
    EXPECT_EQ(r->target.spec.name, "workingset_refault_file_per_s @ host");
    EXPECT_EQ(r->guard.spec.name, "psi_memory_some_pct @ host");
    EXPECT_DOUBLE_EQ(evidence_value(*r, "file_refaults_per_s"), 500);
    EXPECT_TRUE(allowed(swappiness(), "60", r->proposed));
    // Up to max_swappiness (100), then no more.
    r = swappiness_rec({.swap_total = kSwap, .file_refaults = 500}, "90");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "100");
    EXPECT_FALSE(swappiness_rec({.swap_total = kSwap, .file_refaults = 500}, "100"));
}

TEST(MemoryTuner, SwapInsWithMajorFaultsLowerSwappiness) {
    Host h{.swap_total = kSwap,
           .file_refaults = 100,
           .anon_refaults = 150,
           .swapins = 150,
           .majfaults = 80};
    auto r = swappiness_rec(h);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "40");
    EXPECT_EQ(r->direction, -1);
    EXPECT_EQ(r->target.spec.name, "major_faults_per_s @ host");
    EXPECT_DOUBLE_EQ(evidence_value(*r, "anon_refaults_and_swapins_per_s"), 300);
    EXPECT_TRUE(allowed(swappiness(), "60", r->proposed));
    // Down to min_swappiness (10), then no more.
    r = swappiness_rec(h, "20");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "10");
    EXPECT_FALSE(swappiness_rec(h, "10"));
    // Without the major faults it is not needed back: nothing.
    h.majfaults = 40;
    EXPECT_FALSE(swappiness_rec(h));
}

TEST(MemoryTuner, SwappinessDeadBandAndNoSwap) {
    // File refaults, but anon refaults above 10 % of them: neither.
    EXPECT_FALSE(swappiness_rec({.swap_total = kSwap, .file_refaults = 500, .anon_refaults = 100}));
    // Under min_refaults_per_s (200 pages/s).
    EXPECT_FALSE(swappiness_rec({.swap_total = kSwap, .file_refaults = 150}));
    // No swap: swappiness changes nothing; never proposed.
    EXPECT_FALSE(swappiness_rec({.file_refaults = 5000}));
    EXPECT_FALSE(swappiness_rec({.anon_refaults = 500, .swapins = 500, .majfaults = 500}));
    // A --cgroup filter excludes host-wide knobs.
    EXPECT_FALSE(test::find_rec(
        decide(window({}, {.swap_total = kSwap, .file_refaults = 500}), knobs(), only()),
        swappiness()));
}

}  // namespace
}  // namespace perfbpf::tune
