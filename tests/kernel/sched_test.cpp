// The sched family against real workloads.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include <sys/prctl.h>
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

uint64_t steady_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

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
        // Every wait is in the histogram once (batched waits included, sched.h:
        // pending_hist); a wait counted twice, or a read that saw the histogram go down
        // (then the whole count is taken as new), would put it above the waits. A read
        // takes the waits before the histogram, so it may hold a wait or two more.
        EXPECT_LE(p->runq_hist.count(), p->runq_waits + 2);
        EXPECT_GE(p->runq_hist.count() + 2, p->runq_waits * 9 / 10);
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

// A thread's comm is taken at its first switch-out and at each rename (the task_rename
// hook), not at every flush: a process renamed, or exec'd, after its first switch-out
// must still carry its last name when it exits and is reaped between two reads (then no
// /proc entry names it).
TEST_P(SchedModes, ExitedProcessKeepsTheNameItHadLast) {
    PERFBPF_REQUIRE_ROOT();
    auto collector = sched_collector(1'500'000'000, GetParam());
    ASSERT_TRUE(collector);
    // Each sleeps first, so its first switch-out sees the name it was forked with.
    auto renamed = test::start_in_cgroups({}, [] {
        ::usleep(50'000);
        ::prctl(PR_SET_NAME, "pb-renamed", 0, 0, 0);
        ::usleep(50'000);
        return 0;
    });
    ASSERT_TRUE(renamed) << renamed.error().message;
    const std::string spin = fixture("spin");
    auto execd = test::start_in_cgroups({}, [&spin] {
        ::usleep(50'000);
        ::execl(spin.c_str(), "spin", "0.05", static_cast<char*>(nullptr));
        return 127;
    });
    ASSERT_TRUE(execd) << execd.error().message;
    // Reaped before the read: a zombie's /proc entry would name it.
    ASSERT_EQ(renamed->wait(), 0);
    ASSERT_EQ(execd->wait(), 0);
    Snapshot s = collector->next();
    const ProcessSample* r = find_process(s, renamed->pid());
    const ProcessSample* e = find_process(s, execd->pid());
    ASSERT_TRUE(r && e) << "the exited children are missing from the snapshot";
    EXPECT_TRUE(r->exited);
    EXPECT_EQ(r->comm, "pb-renamed");
    EXPECT_TRUE(e->exited);
    EXPECT_EQ(e->comm, "spin");
}

// Off-CPU time is the part of a thread's life it neither ran nor waited to run: a child
// that sleeps 0.3 s, spins 0.15 s and sleeps 0.4 s is off-CPU ≈0.7 s, and its three
// times add up to its life, which the parent's clock bounds from above.
TEST_P(SchedModes, OffCpuIsTheTimeAsleep) {
    PERFBPF_REQUIRE_ROOT();
    auto collector = sched_collector(1'500'000'000, GetParam());
    ASSERT_TRUE(collector);
    const uint64_t t0 = steady_ns();
    auto child = test::start_in_cgroups({}, [] {
        ::usleep(300'000);
        selftest::spin_for(0.15);
        ::usleep(400'000);
        return 0;
    });
    ASSERT_TRUE(child) << child.error().message;
    ASSERT_EQ(child->wait(), 0);
    const uint64_t life_bound = steady_ns() - t0;
    Snapshot s = collector->next();
    const ProcessSample* p = find_process(s, child->pid());
    ASSERT_TRUE(p) << "the exited child is missing from the snapshot";
    const uint64_t sum = p->oncpu_ns + p->offcpu_ns + p->runq_wait_ns;
    std::printf(
        "[measured] off-CPU %.1f ms, on-CPU %.1f ms, run-queue %.1f ms, sum %.1f ms, "
        "life at most %.1f ms\n",
        p->offcpu_ns / 1e6, p->oncpu_ns / 1e6, p->runq_wait_ns / 1e6, sum / 1e6, life_bound / 1e6);
    // usleep sleeps at least as long as asked; what a loaded machine adds is run-queue
    // time or more sleep, never less.
    EXPECT_GE(p->offcpu_ns, 695'000'000u);
    EXPECT_GE(sum, 850'000'000u);
    EXPECT_LE(sum, life_bound + 2'000'000);
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
