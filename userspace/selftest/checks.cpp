// The workload and the expectations of each probe family; one entry per family.
#include <string>

#include "selftest/selftest.h"
#include "selftest/workload.h"
#include "util/format.h"

namespace perfbpf::selftest {
namespace {

// Two CPU hogs pinned to one CPU: each must wait in the run queue and be preempted.
CheckResult check_sched(Collector& collector) {
    CheckResult r;
    auto a = Worker::start([] { return spin_for(1.5); }, 0);
    auto b = Worker::start([] { return spin_for(1.5); }, 0);
    if (!a || !b) return {false, 0, (a ? b.error() : a.error()).message};
    if (exec_self_version() != 0) return {false, 0, "could not exec /proc/self/exe --version"};
    Snapshot s = collector.next();
    const ProcessSample* pa = find_process(s, a->pid());
    const ProcessSample* pb = find_process(s, b->pid());
    if (!pa || !pb) return {false, 0, "the two CPU hogs were not seen"};
    r.events = pa->runq_waits + pb->runq_waits + pa->invol_switches + pb->invol_switches;
    for (const ProcessSample* p : {pa, pb}) {
        if (p->oncpu_ns < 100'000'000 || p->runq_wait_ns < 100'000'000 || p->invol_switches == 0) {
            r.detail = "pid " + std::to_string(p->pid) + ": on-CPU " +
                       format_us(static_cast<double>(p->oncpu_ns) / 1000) + ", run-queue wait " +
                       format_us(static_cast<double>(p->runq_wait_ns) / 1000) + ", " +
                       std::to_string(p->invol_switches) +
                       " involuntary switches (expected > 100 ms, > 100 ms, > 0)";
            return r;
        }
    }
    r.passed = true;
    r.detail = "hogs on one CPU: run-queue p99 " + format_us(pa->runq_lat_p99_us) + " and " +
               format_us(pb->runq_lat_p99_us);
    return r;
}

}  // namespace

const std::vector<FamilyCheck>& family_checks() {
    static const std::vector<FamilyCheck> checks = {
        {"sched", check_sched},
    };
    return checks;
}

}  // namespace perfbpf::selftest
