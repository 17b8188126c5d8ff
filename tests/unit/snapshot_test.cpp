// finalize_snapshot, filters, and the JSON round trip used by recordings.
#include <gtest/gtest.h>

#include "model/finalize.h"
#include "sinks/json_sink.h"
#include "sinks/snapshot_record.h"

namespace perfbpf {
namespace {

ProcessSample proc(int pid, const std::string& cgroup, uint64_t oncpu_ns) {
    ProcessSample p;
    p.pid = pid;
    p.comm = "p" + std::to_string(pid);
    p.cgroup = cgroup;
    p.oncpu_ns = oncpu_ns;
    p.runq_hist.add_us(100, 10);
    p.write_bytes = 1000;
    return p;
}

TEST(Finalize, PercentagesPercentilesAndCgroupSums) {
    Snapshot s;
    s.interval_ns = 2'000'000'000;
    s.processes = {proc(1, "/a", 500'000'000), proc(2, "/a", 1'000'000'000), proc(3, "/b", 0)};
    finalize_snapshot(s);
    EXPECT_EQ(s.processes[0].pid, 2);  // busiest first
    EXPECT_DOUBLE_EQ(s.processes[0].cpu_pct, 50.0);
    EXPECT_GT(s.processes[0].runq_lat_p99_us, 64);
    ASSERT_EQ(s.cgroups.size(), 2u);
    EXPECT_EQ(s.cgroups[0].path, "/a");
    EXPECT_EQ(s.cgroups[0].processes, 2);
    EXPECT_DOUBLE_EQ(s.cgroups[0].cpu_pct, 75.0);
    EXPECT_EQ(s.cgroups[0].write_bytes, 2000u);
    EXPECT_EQ(s.cgroups[0].runq_hist.count(), 20u);
}

TEST(Filter, CgroupPrefixOnPathBoundaries) {
    EXPECT_TRUE(cgroup_within("/a", "/a"));
    EXPECT_TRUE(cgroup_within("/a/b", "/a"));
    EXPECT_TRUE(cgroup_within("/a/b", "/a/"));
    EXPECT_FALSE(cgroup_within("/ab", "/a"));
    EXPECT_TRUE(cgroup_within("/anything", "/"));
}

TEST(Filter, PidAndCgroup) {
    Snapshot s;
    s.interval_ns = 1'000'000'000;
    s.processes = {proc(1, "/a", 1), proc(2, "/a/x", 1), proc(3, "/b", 1)};
    finalize_snapshot(s);
    Snapshot by_cgroup = s;
    apply_filter(by_cgroup, SnapshotFilter{std::nullopt, std::string("/a")});
    EXPECT_EQ(by_cgroup.processes.size(), 2u);
    for (const auto& c : by_cgroup.cgroups) EXPECT_TRUE(cgroup_within(c.path, "/a"));
    Snapshot by_pid = s;
    apply_filter(by_pid, SnapshotFilter{3, std::nullopt});
    ASSERT_EQ(by_pid.processes.size(), 1u);
    EXPECT_EQ(by_pid.processes[0].pid, 3);
    ASSERT_EQ(by_pid.cgroups.size(), 1u);
    EXPECT_EQ(by_pid.cgroups[0].path, "/b");
}

TEST(JsonContract, TopLevelAndProcessFields) {
    Snapshot s;
    s.interval_ns = 1'000'000'000;
    s.processes = {proc(7, "/x", 250'000'000)};
    DeviceSample d;
    d.name = "loop0";
    d.lat_hist.add_us(300, 4);
    s.devices = {d};
    finalize_snapshot(s);
    Verdict v{"cpu", Severity::warning, "runq p99 9 ms", "pid 7 p7"};
    auto j = snapshot_json(s, {v});
    for (const char* key :
         {"interval_ns", "system", "processes", "cgroups", "devices", "verdicts", "drops"})
        EXPECT_TRUE(j.contains(key)) << key;
    const auto& p = j["processes"][0];
    for (const char* key : {"pid", "comm", "cgroup", "cpu_pct", "runq_wait_ns", "runq_lat_p99_us",
                            "invol_switches", "read_bytes", "write_bytes", "tcp_tx_bytes",
                            "tcp_rx_bytes", "tcp_retransmits", "rss_bytes", "rss_growth_bytes"})
        EXPECT_TRUE(p.contains(key)) << key;
    EXPECT_EQ(p["pid"], 7);
    EXPECT_DOUBLE_EQ(p["cpu_pct"].get<double>(), 25.0);
    const auto& dev = j["devices"][0];
    for (const char* key :
         {"name", "read_bytes", "write_bytes", "read_ios", "write_ios", "lat_p50_us", "lat_p99_us"})
        EXPECT_TRUE(dev.contains(key)) << key;
    EXPECT_EQ(j["verdicts"][0]["severity"], "warning");
    EXPECT_EQ(j["verdicts"][0]["resource"], "cpu");
}

TEST(Recording, RoundTripKeepsHistogramsAndCounters) {
    Snapshot s;
    s.interval_ns = 500'000'000;
    s.system.ncpus = 2;
    s.system.psi_cpu.available = true;
    s.system.psi_cpu.some.avg10 = 12.5;
    s.processes = {proc(9, "/c", 100)};
    s.processes[0].rss_growth_bytes = -4096;
    s.drops.by_kind["ring_full"] = 3;
    s.drops.total = 3;
    DeviceSample d;
    d.name = "loop3";
    d.read_ios = 10;
    d.read_seq_ios = 9;
    d.read_lat_hist.add_us(100, 10);
    d.lat_hist = d.read_lat_hist;
    s.devices = {d};
    finalize_snapshot(s);
    auto back = snapshot_from_json(snapshot_json(s, {}));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->interval_ns, s.interval_ns);
    ASSERT_EQ(back->processes.size(), 1u);
    EXPECT_EQ(back->processes[0].runq_hist, s.processes[0].runq_hist);
    EXPECT_EQ(back->processes[0].rss_growth_bytes, -4096);
    EXPECT_TRUE(back->system.psi_cpu.available);
    EXPECT_DOUBLE_EQ(back->system.psi_cpu.some.avg10, 12.5);
    EXPECT_EQ(back->drops.by_kind["ring_full"], 3u);
    ASSERT_EQ(back->devices.size(), 1u);
    EXPECT_EQ(back->devices[0].read_seq_ios, 9u);
    EXPECT_EQ(back->devices[0].read_lat_hist, s.devices[0].read_lat_hist);
    EXPECT_DOUBLE_EQ(back->devices[0].read_lat_p99_us, s.devices[0].read_lat_p99_us);
    EXPECT_FALSE(snapshot_from_json(nlohmann::json::object()));
}

}  // namespace
}  // namespace perfbpf
