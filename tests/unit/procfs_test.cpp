#include "collect/parse/procfs.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

TEST(ProcPidStat, CommWithSpacesAndParens) {
    auto st = parse_pid_stat(
        "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 500 0 7 0 150 50 0 0 20 0 3 0 "
        "98765 12345678 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->pid, 1234);
    EXPECT_EQ(st->comm, "my (odd) name");
    EXPECT_EQ(st->state, 'S');
    EXPECT_EQ(st->ppid, 1);
    EXPECT_EQ(st->minflt, 500u);
    EXPECT_EQ(st->majflt, 7u);
    EXPECT_EQ(st->utime_ticks, 150u);
    EXPECT_EQ(st->stime_ticks, 50u);
    EXPECT_EQ(st->num_threads, 3);
    EXPECT_EQ(st->starttime_ticks, 98765u);
    EXPECT_EQ(st->rss_pages, 2048u);
    EXPECT_EQ(st->flags, 4194560u);
    EXPECT_FALSE(st->flags & kPfKthread);
}

TEST(ProcPidStat, KernelThreadFlag) {
    auto st = parse_pid_stat(
        "57 (kworker/1:2-events) I 2 0 0 0 -1 69238880 0 0 0 0 0 12 0 0 20 0 1 0 "
        "1404 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0");
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->flags & kPfKthread);  // 0x4208060, as a kworker's on 6.18
}

TEST(ProcPidStat, TruncatedIsRejected) {
    EXPECT_FALSE(parse_pid_stat("12 (x) S 1 2 3"));
    EXPECT_FALSE(parse_pid_stat("garbage"));
}

TEST(ProcStat, CpuLinesAndCounters) {
    auto st = parse_proc_stat(
        "cpu  100 5 50 800 10 2 3 0 0 0\n"
        "cpu0 50 2 25 400 5 1 1 0 0 0\n"
        "cpu1 50 3 25 400 5 1 2 0 0 0\n"
        "intr 1 2 3\nctxt 424242\nbtime 1\nprocesses 77\nprocs_running 3\nprocs_blocked 1\n");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->all.user, 100u);
    EXPECT_EQ(st->all.idle, 800u);
    EXPECT_EQ(st->all.total(), 970u);
    ASSERT_EQ(st->per_cpu.size(), 2u);
    EXPECT_EQ(st->per_cpu[1].softirq, 2u);
    EXPECT_EQ(st->context_switches, 424242u);
    EXPECT_EQ(st->procs_running, 3);
}

TEST(Meminfo, KilobytesBecomeBytes) {
    auto m = parse_meminfo(
        "MemTotal:       24576000 kB\nMemAvailable:   20000000 kB\nHugePages_Total:       0\n");
    EXPECT_EQ(m["MemTotal"], 24576000ull * 1024);
    EXPECT_EQ(m["HugePages_Total"], 0u);
}

TEST(Pressure, SomeAndFull) {
    auto p = parse_pressure(
        "some avg10=1.50 avg60=0.80 avg300=0.20 total=123456\n"
        "full avg10=0.10 avg60=0.00 avg300=0.00 total=789\n");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->available);
    EXPECT_DOUBLE_EQ(p->some.avg10, 1.5);
    EXPECT_EQ(p->some.total_us, 123456u);
    ASSERT_TRUE(p->full);
    EXPECT_EQ(p->full->total_us, 789u);
    EXPECT_FALSE(parse_pressure(""));
}

TEST(Pressure, IntervalShareFromTotals) {
    auto before = parse_pressure(
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=400000\n");
    auto now = parse_pressure(
        "some avg10=9.00 avg60=2.00 avg300=0.50 total=1250000\n"
        "full avg10=4.00 avg60=1.00 avg300=0.20 total=500000\n");
    ASSERT_TRUE(before && now);
    set_psi_interval(*now, *before, 1'000'000'000);  // 1 s: 250 ms some, 100 ms full
    EXPECT_DOUBLE_EQ(now->some.interval_pct, 25.0);
    ASSERT_TRUE(now->full);
    EXPECT_DOUBLE_EQ(now->full->interval_pct, 10.0);
}

TEST(Pressure, IntervalShareCappedAndWithoutFullLine) {
    // Stall time is summed over tasks' states, not wall time: cap at 100 %. A kernel
    // without the cpu "full" line (before 5.13) leaves it absent.
    auto before = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    auto now = parse_pressure("some avg10=99.00 avg60=50.00 avg300=20.00 total=3000000\n");
    ASSERT_TRUE(before && now);
    set_psi_interval(*now, *before, 2'000'000'000);
    EXPECT_DOUBLE_EQ(now->some.interval_pct, 100.0);
    EXPECT_FALSE(now->full);
    // A total that went backwards is not read as a huge unsigned difference.
    auto reset = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=100000\n");
    set_psi_interval(*reset, *now, 1'000'000'000);
    EXPECT_DOUBLE_EQ(reset->some.interval_pct, 0.0);
    // No interval (the first read): nothing to compute.
    auto first = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=500\n");
    set_psi_interval(*first, *before, 0);
    EXPECT_DOUBLE_EQ(first->some.interval_pct, 0.0);
}

TEST(Loadavg, Parses) {
    auto l = parse_loadavg("0.50 1.25 2.00 3/456 7890\n");
    ASSERT_TRUE(l);
    EXPECT_DOUBLE_EQ(l->avg[1], 1.25);
    EXPECT_EQ(l->running, 3);
    EXPECT_EQ(l->total, 456);
}

TEST(CgroupPath, PureV2) {
    EXPECT_EQ(choose_cgroup_path("0::/system.slice/nginx.service\n"),
              "/system.slice/nginx.service");
}

TEST(CgroupPath, HybridPrefersV1CpuWhenV2IsRoot) {
    EXPECT_EQ(
        choose_cgroup_path("9:name=systemd:/user.slice\n4:memory:/m\n1:cpu,cpuacct:/c\n0::/\n"),
        "/c");
    EXPECT_EQ(choose_cgroup_path("4:memory:/process_api/x\n1:cpu:/\n0::/\n"), "/process_api/x");
    EXPECT_EQ(choose_cgroup_path("1:cpu:/\n0::/\n"), "/");
}

TEST(CgroupPath, HierarchiesAndChoice) {
    ProcCgroups c = parse_proc_cgroup(
        "9:name=systemd:/user.slice\n4:memory:/process_api/x\n1:cpu,cpuacct:/\n0::/\n");
    EXPECT_EQ(c.v2, "/");
    EXPECT_EQ(c.cpu, "/");
    EXPECT_EQ(c.memory, "/process_api/x");
    EXPECT_EQ(c.systemd, "/user.slice");
    CgroupChoice hybrid = choose_cgroup(c);
    EXPECT_EQ(hybrid.path, "/process_api/x");
    EXPECT_EQ(hybrid.hierarchy, "memory");
    CgroupChoice v2 = choose_cgroup(parse_proc_cgroup("0::/app.slice/a.service\n"));
    EXPECT_EQ(v2.path, "/app.slice/a.service");
    EXPECT_EQ(v2.hierarchy, "v2");
    EXPECT_EQ(choose_cgroup(parse_proc_cgroup("")).path, "/");
}

TEST(Netstat, PairsOfHeaderAndValueLines) {
    auto m = parse_netstat(
        "TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops\n"
        "TcpExt: 0 0 36 37\n"
        "IpExt: InNoRoutes InOctets\n"
        "IpExt: 2 123456789012\n");
    EXPECT_EQ(m["TcpExt:ListenOverflows"], 36u);
    EXPECT_EQ(m["TcpExt:ListenDrops"], 37u);
    EXPECT_EQ(m["IpExt:InOctets"], 123456789012u);
    EXPECT_FALSE(m.contains("TcpExt:TCPReqQFullDrop"));
    // A header without its values line (a truncated read) gives nothing for it.
    EXPECT_TRUE(parse_netstat("TcpExt: A B\nIpExt: C\nIpExt: 1\n").contains("IpExt:C"));
    EXPECT_FALSE(parse_netstat("TcpExt: A B\nIpExt: C\nIpExt: 1\n").contains("TcpExt:A"));
}

TEST(Netstat, OnlyTheKeysAskedFor) {
    constexpr std::string_view only[] = {"TcpExt:ListenDrops", "IpExt:InOctets", "Ip:InOctets",
                                         "TcpExt:Listen"};
    auto m = parse_netstat(
        "TcpExt: ListenOverflows ListenDrops\nTcpExt: 36 37\nIpExt: InOctets\nIpExt: 9\n", only);
    EXPECT_EQ(m,
              (std::map<std::string, uint64_t>{{"TcpExt:ListenDrops", 37}, {"IpExt:InOctets", 9}}));
}

TEST(Sockstat, InuseOfTheNamedProtocolOnly) {
    const std::string v4 =
        "sockets: used 8\n"
        "TCP: inuse 3 orphan 0 tw 5 alloc 4 mem 51\n"
        "UDP: inuse 7 mem 0\n";
    EXPECT_EQ(parse_sockstat_inuse(v4, "TCP"), 3u);
    EXPECT_EQ(parse_sockstat_inuse(v4, "UDP"), 7u);
    EXPECT_EQ(parse_sockstat_inuse("TCP6: inuse 0\nUDP6: inuse 2\n", "TCP6"), 0u);
    // "TCP" is not a prefix match for "TCP6", nor the other way round.
    EXPECT_EQ(parse_sockstat_inuse("TCP6: inuse 4\n", "TCP"), std::nullopt);
    EXPECT_EQ(parse_sockstat_inuse(v4, "TCP6"), std::nullopt);
    // A line without the count, or a count that is not a number: unknown, not 0.
    EXPECT_EQ(parse_sockstat_inuse("TCP: orphan 0 tw 5\n", "TCP"), std::nullopt);
    EXPECT_EQ(parse_sockstat_inuse("TCP: inuse x orphan 0\n", "TCP"), std::nullopt);
    EXPECT_EQ(parse_sockstat_inuse("", "TCP"), std::nullopt);
}

TEST(Softnet, SumsTheHexColumnsOfEveryCpu) {
    auto t = parse_softnet_stat(
        "0001e240 0000000a 00000003 00000000 00000000 00000000 00000000 00000000 00000000 "
        "00000000 00000000 00000000 00000000\n"
        "00000010 00000001 0000000f 00000000 00000000 00000000 00000000 00000000 00000000 "
        "00000000 00000000 00000000 00000001\n");
    EXPECT_EQ(t.processed, 123456u + 16u);
    EXPECT_EQ(t.dropped, 11u);
    EXPECT_EQ(t.time_squeeze, 18u);
}

TEST(Diskstats, Fields) {
    auto d = parse_diskstats(
        "   7       3 loop3 120 0 960 30 200 0 1600 80 1 90 110 0 0 0 0 0 0\n"
        "   8       0 sda 1 2 3 4 5 6 7 8 0 10 11\n");
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].name, "loop3");
    EXPECT_EQ(d[0].major, 7u);
    EXPECT_EQ(d[0].minor, 3u);
    EXPECT_EQ(d[0].read_sectors, 960u);
    EXPECT_EQ(d[0].writes, 200u);
    EXPECT_EQ(d[0].in_flight, 1u);
    EXPECT_EQ(d[0].io_ticks_ms, 90u);
    EXPECT_EQ(d[0].time_in_queue_ms, 110u);
}

// fuzz_procfs in CI: "cpu35338184611241 ..." made the parser size its per-CPU table for
// that index (petabytes). A CPU past the kernel's largest NR_CPUS is not /proc/stat's.
TEST(ProcStat, ACpuIndexPastAnyKernelsIsIgnored) {
    auto st = parse_proc_stat(
        "cpu  1 2 3 4 5 6 7 8\ncpu35338184611241 1 2 3 4 5 6 7 8\n"
        "cpu1 1 2 3 4 5 6 7 8\n");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->per_cpu.size(), 2u);
    EXPECT_EQ(st->per_cpu[1].user, 1u);
}

}  // namespace
}  // namespace perfbpf
