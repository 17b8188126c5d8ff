#include "detect/verdict.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "sinks/snapshot_record.h"

namespace perfbpf {
namespace {

const Verdict& find(const std::vector<Verdict>& v, const std::string& resource) {
    auto it =
        std::find_if(v.begin(), v.end(), [&](const Verdict& x) { return x.resource == resource; });
    EXPECT_NE(it, v.end()) << resource;
    return *it;
}

Snapshot quiet_snapshot() {
    Snapshot s;
    s.interval_ns = 1'000'000'000;
    s.system.ncpus = 2;
    s.system.mem_total_bytes = 16ull << 30;
    s.system.mem_available_bytes = 12ull << 30;
    s.system.cpu_busy_pct = 5;
    CpuSample c;
    c.runq_hist.add_us(20, 100);
    c.runq_wait_ns = 100 * 20'000;
    s.cpus = {c};
    s.system.runq_hist = c.runq_hist;
    return s;
}

TEST(Verdicts, QuietSystemIsOkEverywhere) {
    Snapshot s = quiet_snapshot();
    auto v = assess(std::span<const Snapshot>(&s, 1), Thresholds{});
    ASSERT_EQ(v.size(), 4u);
    for (const auto& x : v) EXPECT_EQ(x.severity, Severity::ok) << x.resource << ": " << x.evidence;
}

TEST(Verdicts, LongRunQueueWaitIsCpuCriticalAndNamesTheWaiter) {
    Snapshot s = quiet_snapshot();
    s.system.runq_hist = Log2Histogram();
    s.system.runq_hist.add_us(40'000, 100);
    s.cpus[0].runq_wait_ns = 4'000'000'000;
    ProcessSample p;
    p.pid = 812;
    p.comm = "make";
    p.runq_wait_ns = 3'000'000'000;
    s.processes = {p};
    auto v = assess(std::span<const Snapshot>(&s, 1), Thresholds{});
    const Verdict& cpu = find(v, "cpu");
    EXPECT_EQ(cpu.severity, Severity::critical);
    EXPECT_NE(cpu.evidence.find("pid 812 make"), std::string::npos) << cpu.evidence;
    EXPECT_EQ(v.front().resource, "cpu");  // worst first
}

// A device that completed `ios` writes, each taking `lat_us`, while `util_pct` busy.
DeviceSample device(const std::string& name, double util_pct, uint64_t ios, uint64_t lat_us) {
    DeviceSample d;
    d.name = name;
    d.util_pct = util_pct;
    d.write_ios = ios;
    d.lat_hist.add_us(lat_us, ios);
    return d;
}

TEST(Verdicts, SaturatedDeviceIsDiskWarningOrWorse) {
    Snapshot s = quiet_snapshot();
    s.devices = {device("sda", 98, 1000, 30'000)};
    auto v = assess(std::span<const Snapshot>(&s, 1), Thresholds{});
    const Verdict& disk = find(v, "disk");
    EXPECT_EQ(disk.severity, Severity::critical);
    EXPECT_EQ(disk.subject, "sda");
}

TEST(Verdicts, EvidenceNamesTheRuleCrossed) {
    Snapshot s = quiet_snapshot();
    s.devices = {device("sda", 50, 500, 33'000)};
    auto v = assess(std::span<const Snapshot>(&s, 1), Thresholds{});
    const Verdict& disk = find(v, "disk");
    EXPECT_EQ(disk.severity, Severity::warning);
    // The p99 crossed the warning threshold (20 ms); util 50 % crossed nothing.
    EXPECT_EQ(disk.evidence.rfind("sda p99 ", 0), 0u) << disk.evidence;
    EXPECT_NE(disk.evidence.find(" >= 20"), std::string::npos) << disk.evidence;
    EXPECT_EQ(disk.evidence.find("util 50 % >="), std::string::npos) << disk.evidence;
    // An ok verdict crossed nothing: no rule in front.
    EXPECT_EQ(find(v, "network").evidence.find(">="), std::string::npos);
}

// The windows from perfbpf issue 12: a slow p99 that delays nobody.
TEST(Verdicts, SlowP99OfAFewRequestsOnAnIdleDiskIsOk) {
    // "util 0 %, queue 0.0, p99 33 ms, 4 IOPS" over a 5 s window.
    std::vector<Snapshot> w(5, quiet_snapshot());
    for (auto& s : w) s.devices = {device("vda", 0, 4, 33'000)};
    const Verdict few = find(assess(w, Thresholds{}), "disk");
    EXPECT_EQ(few.severity, Severity::ok) << few.evidence;
    EXPECT_NE(few.evidence.find("p99 not judged"), std::string::npos) << few.evidence;

    // An idle vda at 1 % busy over ~80 I/Os: enough requests, but nobody waits on it.
    for (auto& s : w) s.devices = {device("vda", 1, 16, 30'000)};
    const Verdict idle = find(assess(w, Thresholds{}), "disk");
    EXPECT_EQ(idle.severity, Severity::ok) << idle.evidence;

    // The same requests with io pressure behind them do count.
    for (auto& s : w) {
        s.system.psi_io.available = true;
        s.system.psi_io.some.avg10 = 15;
    }
    const Verdict stalled = find(assess(w, Thresholds{}), "disk");
    EXPECT_EQ(stalled.severity, Severity::warning) << stalled.evidence;
    EXPECT_NE(stalled.evidence.find("vda p99"), std::string::npos) << stalled.evidence;
}

// Issue 12: an idle vda with slow requests was named while a busy loop1 was fine. The
// verdict is ok and names the busy device, whose numbers it then shows.
TEST(Verdicts, IdleSlowDeviceBesideABusyOneIsNotTheVerdict) {
    std::vector<Snapshot> w(5, quiet_snapshot());
    for (auto& s : w) s.devices = {device("vda", 1, 16, 30'000), device("loop1", 50, 400, 200)};
    const Verdict disk = find(assess(w, Thresholds{}), "disk");
    EXPECT_EQ(disk.severity, Severity::ok) << disk.evidence;
    EXPECT_EQ(disk.subject, "loop1") << disk.evidence;
}

// Every verdict says how long a window it judged: five 1 s intervals here.
TEST(Verdicts, CarryTheWindowTheyCover) {
    std::vector<Snapshot> w(5, quiet_snapshot());
    for (const auto& v : assess(w, Thresholds{})) EXPECT_DOUBLE_EQ(v.window_s, 5.0) << v.resource;
    w.resize(1);
    for (const auto& v : assess(w, Thresholds{})) EXPECT_DOUBLE_EQ(v.window_s, 1.0) << v.resource;
}

// p99 of log2 buckets is interpolated within its bucket, not the bucket's edge.
TEST(Verdicts, P99IsInterpolatedWithinItsBucket) {
    Log2Histogram h;
    h.add_us(20'000, 100);  // all in the 16-32 ms bucket
    double p99 = h.percentile_us(0.99);
    EXPECT_GT(p99, Log2Histogram::slot_low_us(15));
    EXPECT_LT(p99, 32'768.0);
    EXPECT_NE(p99, 16'384.0);
}

TEST(Verdicts, OomKillIsMemoryCritical) {
    Snapshot s = quiet_snapshot();
    s.oom_kills.push_back(OomKill{99, "hog", 1 << 30, 0});
    auto v = assess(std::span<const Snapshot>(&s, 1), Thresholds{});
    EXPECT_EQ(find(v, "memory").severity, Severity::critical);
}

TEST(Verdicts, RetransmitRateIsNetworkTrouble) {
    Snapshot s = quiet_snapshot();
    s.system.tcp_retransmits = 500;
    auto v = assess(std::span<const Snapshot>(&s, 1), Thresholds{});
    EXPECT_EQ(find(v, "network").severity, Severity::critical);
}

TEST(Verdicts, WindowSmoothsOneNoisyInterval) {
    // One bad interval among four quiet ones: the p99 over the window stays moderate.
    std::vector<Snapshot> w(5, quiet_snapshot());
    for (auto& s : w) s.system.runq_hist.add_us(20, 10'000);
    w[2].system.runq_hist.add_us(40'000, 60);
    auto v = assess(w, Thresholds{});
    EXPECT_NE(find(v, "cpu").severity, Severity::critical);
}

TEST(Verdicts, RecordedCpuContentionIsCritical) {
    auto rec =
        read_recording(std::string(PERFBPF_FIXTURES_DIR) + "/recordings/cpu-contention.jsonl");
    ASSERT_TRUE(rec) << rec.error().message;
    ASSERT_EQ(rec->size(), 3u);
    auto v = assess(*rec, Thresholds{});
    const Verdict& cpu = find(v, "cpu");
    EXPECT_EQ(cpu.severity, Severity::critical) << cpu.evidence;
    EXPECT_NE(cpu.subject.find("spin"), std::string::npos) << cpu.subject;
    EXPECT_EQ(find(v, "disk").severity, Severity::ok);
}

TEST(Thresholds, WarningAboveCriticalIsRejected) {
    Thresholds t;
    EXPECT_TRUE(validate(t));
    t.cpu_runq_p99_warn_us = t.cpu_runq_p99_crit_us + 1;
    auto r = validate(t);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("cpu_runq_p99_warn_us"), std::string::npos);
}

}  // namespace
}  // namespace perfbpf
