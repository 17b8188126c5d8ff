#include "detect/investigate.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

ProcessSample proc(int pid, std::string comm, double cpu) {
    ProcessSample p;
    p.pid = pid;
    p.comm = std::move(comm);
    p.cgroup = "/work";
    p.cpu_pct = cpu;
    return p;
}

Snapshot snap(int64_t ts, std::vector<ProcessSample> procs) {
    Snapshot s;
    s.end_unix_ms = ts;
    s.processes = std::move(procs);
    return s;
}

const EvidenceRanking* ranking(const Evidence& e, std::string_view object,
                               std::string_view measure) {
    for (const auto& r : e.rankings)
        if (r.object == object && r.measure == measure) return &r;
    return nullptr;
}

std::string pid_of(const EvidenceConsumer& c) {
    for (const auto& [k, v] : c.object)
        if (k == "pid") return v;
    return "";
}

TEST(Investigate, CpuRanksProcessesByMeanCpuOverTheIntervals) {
    Investigation inv(Resource::cpu, 3);
    inv.add(snap(1000, {proc(10, "steady", 50), proc(11, "hog", 100), proc(12, "idle", 0)}));
    inv.add(snap(2000, {proc(10, "steady", 50), proc(11, "hog", 100)}));
    EXPECT_FALSE(inv.done());
    // A burst in one interval weighs a third: the hog stays first.
    inv.add(snap(3000, {proc(10, "steady", 50), proc(13, "burst", 120)}));
    EXPECT_TRUE(inv.done());
    const Evidence e = inv.evidence();
    EXPECT_EQ(e.resource, Resource::cpu);
    EXPECT_EQ(e.intervals, 3);
    EXPECT_EQ(e.from_ms, 1000);
    EXPECT_EQ(e.to_ms, 3000);
    const auto* r = ranking(e, "process", "cpu_pct");
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->top.size(), 3u);  // idle at 0 is no consumer
    EXPECT_EQ(pid_of(r->top[0]), "11");
    EXPECT_NEAR(r->top[0].value, 200.0 / 3, 1e-9);
    EXPECT_EQ(pid_of(r->top[1]), "10");
    EXPECT_EQ(pid_of(r->top[2]), "13");
    EXPECT_NE(ranking(e, "process", "runq_wait_ns"), nullptr);
    EXPECT_NE(ranking(e, "cgroup", "cpu_pct"), nullptr);
}

TEST(Investigate, ExcludesPerfbpfItselfAndKeepsTheTopN) {
    std::vector<ProcessSample> many;
    for (int i = 1; i <= 30; ++i) many.push_back(proc(i, "p", i));
    many.push_back(proc(999, "perfbpf", 500));
    Investigation inv(Resource::cpu, 1, 5, 999);
    inv.add(snap(1000, many));
    const Evidence e = inv.evidence();
    const auto* r = ranking(e, "process", "cpu_pct");
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->top.size(), 5u);
    EXPECT_EQ(pid_of(r->top[0]), "30");
    EXPECT_EQ(pid_of(r->top[4]), "26");
}

TEST(Investigate, FocusedProcessesAreRankedBehindTheLeaders) {
    std::vector<ProcessSample> many;
    for (int i = 1; i <= 30; ++i) many.push_back(proc(i, "p", 10 + i));
    many.push_back(proc(100, "hog", 3));
    Investigation inv(Resource::cpu, 2, 5);
    inv.focus("100");
    inv.add(snap(1000, many));
    inv.add(snap(2000, many));
    const Evidence e = inv.evidence();
    const auto* r = ranking(e, "process", "cpu_pct");
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->top.size(), 6u);
    EXPECT_EQ(pid_of(r->top[0]), "30");
    EXPECT_EQ(pid_of(r->top[5]), "100");
    EXPECT_DOUBLE_EQ(r->top[5].value, 3);
}

TEST(Investigate, MemoryRanksByLastRssAndSummedGrowth) {
    Investigation inv(Resource::memory, 2);
    ProcessSample big = proc(1, "big", 0), leak = proc(2, "leak", 0);
    big.rss_bytes = 1 << 30;
    leak.rss_bytes = 1 << 20;
    leak.rss_growth_bytes = 1 << 20;
    inv.add(snap(1000, {big, leak}));
    leak.rss_bytes = 2 << 20;
    big.rss_growth_bytes = -4096;
    inv.add(snap(2000, {big, leak}));
    const Evidence e = inv.evidence();
    const auto* rss = ranking(e, "process", "rss_bytes");
    const auto* growth = ranking(e, "process", "rss_growth_bytes");
    ASSERT_TRUE(rss && growth);
    EXPECT_EQ(pid_of(rss->top[0]), "1");
    EXPECT_EQ(rss->top[1].value, 2 << 20);
    ASSERT_EQ(growth->top.size(), 1u);  // a shrinking process did not grow
    EXPECT_EQ(pid_of(growth->top[0]), "2");
    EXPECT_EQ(growth->top[0].value, 2 << 20);
}

TEST(Investigate, IoRanksDevicesByLatency) {
    Investigation inv(Resource::io, 1);
    Snapshot s = snap(1000, {});
    DeviceSample fast, slow;
    fast.name = "nvme0n1";
    fast.lat_p99_us = 80;
    slow.name = "sda";
    slow.lat_p99_us = 9000;
    s.devices = {fast, slow};
    inv.add(s);
    const Evidence e = inv.evidence();
    const auto* r = ranking(e, "device", "lat_p99_us");
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->top.size(), 2u);
    EXPECT_EQ(r->top[0].object, (Labels{{"device", "sda"}}));
}

TEST(Investigate, IncidentResourceIsItsHighestScoringSeries) {
    Incident inc;
    IncidentSeries a, b;
    a.key = {"rss_bytes", {{"pid", "1"}}};
    a.peak.score = 7;
    b.key = {"cpu_pct", {{"pid", "1"}}};
    b.peak.score = 20;
    inc.series = {a, b};
    EXPECT_EQ(incident_resource(inc), Resource::cpu);
}

}  // namespace
}  // namespace perfbpf
