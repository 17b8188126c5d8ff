// The sched family against real workloads.
#include <gtest/gtest.h>

#include <algorithm>

#include "collect/collector.h"
#include "support.h"

namespace perfbpf {
namespace {

using test::Child;
using test::find_process;
using test::fixture;

std::unique_ptr<Collector> sched_collector(uint64_t interval_ns) {
    return test::family_collector({"sched"}, interval_ns);
}

TEST(SchedProbe, HogPairOnOneCpuWaits) {
    PERFBPF_REQUIRE_ROOT();
    auto collector = sched_collector(1'000'000'000);
    ASSERT_TRUE(collector);
    Child a = Child::spawn({fixture("spin"), "20"}, 0);
    Child b = Child::spawn({fixture("spin"), "20"}, 0);
    collector->next();  // both hogs are running for the whole of the next interval
    Snapshot s = collector->next();
    const ProcessSample* pa = find_process(s, a.pid());
    const ProcessSample* pb = find_process(s, b.pid());
    ASSERT_TRUE(pa && pb) << "hog pids missing from the snapshot";
    for (const ProcessSample* p : {pa, pb}) {
        SCOPED_TRACE("pid " + std::to_string(p->pid));
        // Sharing one CPU: each runs about half the time and waits the other half.
        EXPECT_GT(p->cpu_pct, 30.0);
        EXPECT_LT(p->cpu_pct, 70.0);
        EXPECT_GT(p->runq_wait_ns, 250'000'000u);
        EXPECT_GT(p->invol_switches, 10u);
        EXPECT_GT(p->runq_lat_p99_us, 500.0);
        EXPECT_EQ(p->comm, "spin");
    }
    // Together they keep CPU 0 busy; on-CPU time is not double counted.
    EXPECT_GT(pa->cpu_pct + pb->cpu_pct, 85.0);
    EXPECT_LT(pa->cpu_pct + pb->cpu_pct, 105.0);
    auto cpu0 = std::find_if(s.cpus.begin(), s.cpus.end(), [](const CpuSample& c) { return c.cpu == 0; });
    ASSERT_NE(cpu0, s.cpus.end());
    EXPECT_GT(cpu0->runq_avg_waiting, 0.7);  // one of the two always waits
}

TEST(SchedProbe, ExitedProcessStillReported) {
    PERFBPF_REQUIRE_ROOT();
    auto collector = sched_collector(1'500'000'000);
    ASSERT_TRUE(collector);
    Child c = Child::spawn({fixture("spin"), "0.5"});
    Snapshot s = collector->next();
    ASSERT_TRUE(c.exited() || c.wait() == 0);
    const ProcessSample* p = find_process(s, c.pid());
    ASSERT_TRUE(p) << "a process that exited during the interval must still appear";
    EXPECT_TRUE(p->exited);
    EXPECT_NEAR(static_cast<double>(p->oncpu_ns), 0.5e9, 0.15e9);
}

}  // namespace
}  // namespace perfbpf
