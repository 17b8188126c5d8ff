// The sched family against real workloads.
#include <gtest/gtest.h>

#include <algorithm>

#include <unistd.h>

#include "collect/collector.h"
#include "collect/parse/procfs.h"
#include "support.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using test::Child;
using test::find_process;
using test::fixture;

std::unique_ptr<Collector> sched_collector(uint64_t interval_ns, bool measure_waits = false) {
    CollectorOptions o;
    o.interval_ns = interval_ns;
    o.probes.sched_measure_waits = measure_waits;
    o.families = {"sched"};
    auto c = Collector::create(o);
    EXPECT_TRUE(c) << c.error().message;
    return c ? std::move(*c) : nullptr;
}

// utime + stime of a live process from /proc, in ns.
double proc_cpu_ns(pid_t pid) {
    auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return -1;
    auto st = parse_pid_stat(*text);
    if (!st) return -1;
    return static_cast<double>(st->utime_ticks + st->stime_ticks) * 1e9 /
           static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Both ways of measuring: the kernel's counters (CONFIG_SCHED_INFO) and the fallback.
class SchedModes : public ::testing::TestWithParam<bool> {};

TEST_P(SchedModes, HogPairOnOneCpuWaits) {
    PERFBPF_REQUIRE_ROOT();
    auto collector = sched_collector(1'000'000'000, GetParam());
    ASSERT_TRUE(collector);
    Child a = Child::spawn({fixture("spin"), "20"}, 0);
    Child b = Child::spawn({fixture("spin"), "20"}, 0);
    collector->next();  // both hogs are running for the whole of the next interval
    const double a0 = proc_cpu_ns(a.pid()), b0 = proc_cpu_ns(b.pid());
    Snapshot s = collector->next();
    const double a_cpu = proc_cpu_ns(a.pid()) - a0, b_cpu = proc_cpu_ns(b.pid()) - b0;
    const ProcessSample* pa = find_process(s, a.pid());
    const ProcessSample* pb = find_process(s, b.pid());
    ASSERT_TRUE(pa && pb) << "hog pids missing from the snapshot";
    for (auto [p, kernel_ns] : {std::pair{pa, a_cpu}, std::pair{pb, b_cpu}}) {
        SCOPED_TRACE("pid " + std::to_string(p->pid));
        // On-CPU time agrees with the kernel's own accounting (tick granularity, and the
        // two reads are not exactly at the interval's edges).
        EXPECT_NEAR(static_cast<double>(p->oncpu_ns), kernel_ns, 0.1 * kernel_ns + 40e6);
        // Sharing one CPU, each waits while the other runs.
        EXPECT_GT(p->runq_wait_ns, 200'000'000u);
        EXPECT_GT(p->invol_switches, 10u);
        EXPECT_GT(p->runq_lat_p99_us, 500.0);
        EXPECT_EQ(p->comm, "spin");
    }
    // The scheduler shares the CPU fairly between equal hogs.
    const double share =
        static_cast<double>(pa->oncpu_ns) / static_cast<double>(pa->oncpu_ns + pb->oncpu_ns);
    EXPECT_GT(share, 0.3);
    EXPECT_LT(share, 0.7);
    auto cpu0 =
        std::find_if(s.cpus.begin(), s.cpus.end(), [](const CpuSample& c) { return c.cpu == 0; });
    ASSERT_NE(cpu0, s.cpus.end());
    EXPECT_GT(cpu0->runq_avg_waiting, 0.7);  // at least one of the two always waits
}

TEST_P(SchedModes, ExitedProcessStillReported) {
    PERFBPF_REQUIRE_ROOT();
    auto collector = sched_collector(1'500'000'000, GetParam());
    ASSERT_TRUE(collector);
    Child c = Child::spawn({fixture("spin"), "0.5"});
    Snapshot s = collector->next();
    ASSERT_EQ(c.wait(), 0);
    const ProcessSample* p = find_process(s, c.pid());
    ASSERT_TRUE(p) << "a process that exited during the interval must still appear";
    EXPECT_TRUE(p->exited);
    // All of its CPU time (as the kernel's rusage tells the parent), within a few ticks.
    const double cpu_ns = static_cast<double>(c.cpu_time_ns());
    ASSERT_GT(cpu_ns, 0);
    EXPECT_NEAR(static_cast<double>(p->oncpu_ns), cpu_ns, 0.05 * cpu_ns + 20e6);
}

INSTANTIATE_TEST_SUITE_P(SchedProbe, SchedModes, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                             return info.param ? "MeasuredWaits" : "KernelCounters";
                         });

// Callers set only CollectorOptions::interval_ns: the probes (the sched family's flush
// period is 2 % of it) and each snapshot follow it, not ProbeOptions' 1 s default.
TEST(SchedProbe, ProbesAndSnapshotsTakeTheCollectorsInterval) {
    PERFBPF_REQUIRE_ROOT();
    constexpr uint64_t kInterval = 400'000'000;
    auto collector = sched_collector(kInterval);
    ASSERT_TRUE(collector);
    EXPECT_EQ(collector->probe_options().interval_ns, kInterval);
    Snapshot s = collector->next();
    // At least the interval (next() waits for its end); no upper bound: a loaded machine
    // stretches it.
    EXPECT_GE(s.interval_ns, kInterval);
    // A later interval (the daemon's governor) changes how long snapshots wait, while the
    // loaded probes keep theirs.
    collector->set_interval(2 * kInterval);
    s = collector->next();
    EXPECT_GE(s.interval_ns, 2 * kInterval);
    EXPECT_EQ(collector->probe_options().interval_ns, kInterval);
}

}  // namespace
}  // namespace perfbpf
