// finalize_snapshot, filters, and the JSON round trip used by recordings.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "model/finalize.h"
#include "sinks/json_sink.h"
#include "sinks/snapshot_record.h"
#include "support/temp_dir.h"

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

TEST(Finalize, CgroupFilesMergeWithProcessSumsAndSchedulingShape) {
    Snapshot s;
    s.interval_ns = 1'000'000'000;
    ProcessSample hog = proc(1, "/hog", 900'000'000);
    hog.invol_switches = 200;
    ProcessSample sleeper = proc(2, "/lat", 100'000'000);
    sleeper.vol_switches = 1000;  // 100 µs per wakeup
    sleeper.runq_waits = 1000;
    sleeper.offcpu_ns = 800'000'000;
    s.processes = {hog, sleeper};
    CgroupSample files;  // what the cgroup source read for /lat
    files.path = "/lat";
    files.hierarchy = "cpu";
    files.v1_cpu_path = "/lat";
    files.memory.source = "v1";
    files.memory.current_bytes = 4096;
    s.cgroups = {files};
    finalize_snapshot(s);
    ASSERT_EQ(s.cgroups.size(), 2u);
    const CgroupSample& h = s.cgroups[0];  // busiest first
    const CgroupSample& l = s.cgroups[1];
    EXPECT_EQ(h.path, "/hog");
    EXPECT_DOUBLE_EQ(h.burst_avg_us, 900'000.0);  // never slept: one burst
    EXPECT_EQ(l.path, "/lat");
    EXPECT_EQ(l.processes, 1);
    EXPECT_EQ(l.hierarchy, "cpu");
    EXPECT_EQ(l.memory.current_bytes, 4096u);
    EXPECT_EQ(l.vol_switches, 1000u);
    EXPECT_EQ(l.runq_waits, 1000u);
    EXPECT_EQ(l.offcpu_ns, 800'000'000u);
    EXPECT_DOUBLE_EQ(l.burst_avg_us, 100.0);
}

TEST(Finalize, NetnsRttPercentiles) {
    Snapshot s;
    NetnsSample n;
    n.srtt_hist.add_us(50, 99);
    n.srtt_hist.add_us(5000, 1);
    s.netns = {n};
    finalize_snapshot(s);
    EXPECT_GT(s.netns[0].srtt_p50_us, 30);
    EXPECT_LT(s.netns[0].srtt_p50_us, 70);
    EXPECT_GT(s.netns[0].srtt_p99_us, s.netns[0].srtt_p50_us);
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

TEST(JsonContract, EvidenceKeysForTuners) {
    Snapshot s;
    s.interval_ns = 1'000'000'000;
    s.processes = {proc(7, "/x", 1)};
    NetnsSample n;
    n.inode = 4026531833;
    n.name = "host";
    s.netns = {n};
    finalize_snapshot(s);
    auto j = snapshot_json(s, {});
    ASSERT_TRUE(j.contains("netns"));
    const auto& nj = j["netns"][0];
    for (const char* key : {"inode",
                            "name",
                            "pid",
                            "tcp_tx_bytes",
                            "tcp_rx_bytes",
                            "tcp_retransmits",
                            "packet_drops",
                            "cpu_backlog_drops",
                            "rcvqueue_full",
                            "mem_limit_send",
                            "mem_limit_recv",
                            "rcvbuf_grow",
                            "rcvbuf_grow_at_max",
                            "tcp_samples",
                            "srtt_p99_us",
                            "snd_wnd_avg_bytes",
                            "rcvbuf_avg_bytes",
                            "bdp_avg_bytes",
                            "rwnd_limited_samples",
                            "listen_overflows",
                            "listen_drops",
                            "netstat_available"})
        EXPECT_TRUE(nj.contains(key)) << key;
    EXPECT_TRUE(nj["rcvbuf_grow"].is_null());  // unavailable, not 0
    const auto& c = j["cgroups"][0];
    for (const char* key : {"hierarchy", "v1_cpu_path", "v1_memory_path", "vol_switches",
                            "runq_waits", "burst_avg_us", "psi_cpu", "psi_memory", "psi_io",
                            "psi_unavailable", "memory", "memory_unavailable"})
        EXPECT_TRUE(c.contains(key)) << key;
    EXPECT_TRUE(c["memory"].is_null());
    for (const char* key : {"pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct",
                            "workingset_refault_anon", "workingset_refault_file", "allocstall",
                            "softnet_backlog_drops", "softnet_time_squeeze", "tcp_out_segs"})
        EXPECT_TRUE(j["system"].contains(key)) << key;
    EXPECT_TRUE(j["processes"][0].contains("netns"));
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

TEST(Recording, RoundTripKeepsTheTunerEvidence) {
    Snapshot s;
    s.interval_ns = 1'000'000'000;
    s.system.pgscan_direct = 77;
    s.system.softnet_backlog_drops = 5;
    NetnsSample n;
    n.inode = 4026532179;
    n.name = "blue";
    n.rcvbuf_grow = 3;
    n.rcvbuf_grow_at_max = 2;
    n.listen_overflows = 36;
    n.packet_drops["CPU_BACKLOG"] = 4;
    n.srtt_hist.add_us(100, 5);
    s.netns = {n};
    CgroupSample c;
    c.path = "/lat";
    c.hierarchy = "v2";
    c.psi_cpu.available = true;
    c.psi_cpu.some.interval_pct = 12.5;
    c.memory.source = "v2";
    c.memory.high_bytes = 1u << 30;
    c.memory.pgscan = 9;
    s.cgroups = {c};
    s.processes = {proc(3, "/lat", 10)};
    finalize_snapshot(s);
    auto back = snapshot_from_json(snapshot_json(s, {}));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->system.pgscan_direct, 77u);
    EXPECT_EQ(back->system.softnet_backlog_drops, 5u);
    ASSERT_EQ(back->netns.size(), 1u);
    const NetnsSample& bn = back->netns[0];
    EXPECT_EQ(bn.name, "blue");
    EXPECT_EQ(bn.rcvbuf_grow_at_max, 2u);
    EXPECT_EQ(bn.rcvbuf_grow_locked, std::nullopt);
    EXPECT_EQ(bn.listen_overflows, 36u);
    EXPECT_EQ(bn.packet_drops.at("CPU_BACKLOG"), 4u);
    EXPECT_EQ(bn.srtt_hist, n.srtt_hist);
    ASSERT_EQ(back->cgroups.size(), 1u);
    EXPECT_DOUBLE_EQ(back->cgroups[0].psi_cpu.some.interval_pct, 12.5);
    EXPECT_EQ(back->cgroups[0].memory.high_bytes, 1u << 30);
    EXPECT_EQ(back->cgroups[0].memory.max_bytes, std::nullopt);
    EXPECT_EQ(back->cgroups[0].memory.pgscan, 9u);
    EXPECT_EQ(back->processes[0].netns, 0u);
}

TEST(Recording, DeeplyNestedLineIsRefusedWithItsLineNumber) {
    Snapshot s;
    s.interval_ns = 1'000'000'000;
    finalize_snapshot(s);
    const std::string good = snapshot_json(s, {}).dump() + "\n";
    test::TempDir d;
    const std::string path = d.path() + "/run.jsonl";
    // Before the fix, top --replay overflowed the stack copying this line's netns.
    std::ofstream(path) << good << R"({"interval_ns":1000000000,"netns":)"
                        << std::string(100'000, '[') << std::string(100'000, ']') << "}\n"
                        << good;
    auto r = read_recording(path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(path + ":2: nested deeper than 64 levels"), std::string::npos)
        << r.error().message;
    std::ofstream(path, std::ios::trunc) << good << good;
    auto ok = read_recording(path);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->size(), 2u);
}

TEST(Recording, DevicesFifosAndOverlongLinesAreRefused) {
    auto zero = read_recording("/dev/zero");  // read forever before
    ASSERT_FALSE(zero);
    EXPECT_NE(zero.error().message.find("not a regular file"), std::string::npos);
    test::TempDir d;
    const std::string fifo = d.path() + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_FALSE(read_recording(fifo));
    const std::string path = d.path() + "/run.jsonl";
    std::ofstream(path) << "\n" << std::string(kMaxRecordingLineBytes + 1, ' ') << "\n";
    auto r = read_recording(path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(path + ":2: line longer than"), std::string::npos)
        << r.error().message;
}

TEST(Recording, IntervalMustBeBetweenANanosecondAndADay) {
    test::TempDir d;
    const std::string path = d.path() + "/run.jsonl";
    Snapshot s;
    s.interval_ns = 1'000'000'000;
    finalize_snapshot(s);
    const std::string good = snapshot_json(s, {}).dump() + "\n";
    for (const char* bad : {"0", "-1000000000", "86400000000001", "1.5e9", "\"1s\""}) {
        std::ofstream(path, std::ios::trunc) << good << R"({"interval_ns":)" << bad << "}\n"
                                             << good;
        auto r = read_recording(path);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message.find(path + ":2: interval_ns "), std::string::npos)
            << r.error().message;
        EXPECT_NE(r.error().message.find("is not between 1 ns and 1 day"), std::string::npos)
            << r.error().message;
    }
    std::ofstream(path, std::ios::trunc) << R"({"interval_ns":86400000000000})"
                                         << "\n";
    EXPECT_TRUE(read_recording(path));
}

TEST(Recording, OnlyALastLineWithoutItsNewlineIsTorn) {
    test::TempDir d;
    const std::string path = d.path() + "/run.jsonl";
    const std::string good = R"({"interval_ns":1000000000})";
    std::ofstream(path) << good << "\n"
                        << R"({"interval_ns":10)";
    auto torn = read_recording(path);
    ASSERT_TRUE(torn) << torn.error().message;
    EXPECT_EQ(torn->size(), 1u);
    std::ofstream(path, std::ios::trunc) << good << "\n"
                                         << "garbage\n";
    auto bad = read_recording(path);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message, path + ":2: not valid JSON");
}

}  // namespace
}  // namespace perfbpf
