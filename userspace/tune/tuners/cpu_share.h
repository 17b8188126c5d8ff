// cpu-share: the CPU weight of a latency-sensitive cgroup that waits for the CPU behind a
// CPU-bound sibling (cgroup v2 cpu.weight, v1 cpu.shares).
//
// The cgroups, from the sched family's per-cgroup samples summed over the window:
//  - latency-sensitive: named in `latency_sensitive` (by path), or detected: short bursts
//    (on-CPU time per voluntary switch at most max_burst_us) and many wakeups (at least
//    min_wakeups_per_s voluntary switches a second): it sleeps, wakes, runs briefly.
//  - CPU-bound: long bursts (at least min_hog_burst_us), at least min_hog_cpu of a CPU,
//    at most max_hog_switches_per_s voluntary switches a second: it never waits for
//    anything but the CPU.
// They compete when they are siblings in the hierarchy that holds the weight: the CPU
// scheduler divides a parent's share among its children by their weights, so only a
// sibling's weight decides who runs first; cousins are separated by their parents' weights.
//
// Which knob: by the hierarchy the sample is in. A v2 sample: cpu.weight of its v2 path;
// where that file cannot be read (a hybrid host whose cpu controller is on v1), cpu.shares
// of the path its processes have in the v1 cpu hierarchy (CgroupSample::v1_cpu_path). A v1
// sample: cpu.shares of its path (the cpu hierarchy; other v1 hierarchies: v1_cpu_path).
// Siblings are judged in the knob's hierarchy, and two cgroups sharing one v1 cpu cgroup
// (or the root) cannot be told apart by a weight: nothing is proposed for them.
//
// Raise: a latency-sensitive cgroup with a CPU-bound sibling that waits in the run queue
// at least raise_wait_ms_per_s (ms of waiting per second), at least raise_wait_per_run of its
// own on-CPU time, with a run-queue latency p99 of at least raise_p99_us: its weight x
// step_factor, up to the ceiling (weight_ceiling / shares_ceiling). Target: its run-queue
// wait per second (lower): a larger weight makes the scheduler pick it sooner when it wakes
// (an earlier virtual deadline under EEVDF, a smaller vruntime under CFS). Guard: the
// competitor's on-CPU time per second (higher; must not fall beyond the tolerance): a
// cgroup that only needs its bursts served sooner takes little CPU from the batch work,
// which is the throughput that pays for the raise; a raise that costs it more is reverted.
// The sufferer's own on-CPU time is no guard: a larger weight can only add to it.
//
// Lower: the pressure is gone: a latency-sensitive cgroup above the default weight (v2 100, v1
// 1024) with no CPU-bound sibling in the window and waits clearly absent (at most
// lower_wait_ms_per_s or at most lower_wait_per_run of its run time: a sleeper running 0.2 CPUs
// alone on a CPU was measured waiting 3.5 ms/s for kernel threads): its weight / step_factor, down
// to the default (never below it: a weight under the default is someone else's choice). Target: the
// run-queue wait per second of its siblings (what a weight larger than needed costs them); guard:
// its own run-queue wait per second. Where the siblings do not wait either, the engine sees no gain
// and reverts the lower: the raised weight then stays until `tune --rollback` (harmless while
// nothing competes).
//
// nice (single processes, only those a --pid filter names: a process's priority is its
// owner's choice): the same evidence per process. One that is latency-sensitive and waits as
// the raise needs behind a CPU-bound process of the same cgroup (nice divides a cgroup's CPU
// among its tasks only; a cgroup weight cannot tell two processes of one cgroup apart) gets
// its nice lowered by nice_step, down to nice_floor. Target: its run-queue wait per second;
// guard: the competitor's on-CPU time. With no CPU-bound process left beside it and waits
// clearly absent, a nice below 0 goes back up by nice_step, to 0 at most. Target: the waits
// of its cgroup mates; guard: its own.
//
// Dead band: between the lower and the raise conditions nothing is proposed, and a cgroup
// whose sibling is still CPU-bound is never lowered (its waits are low because of the
// raise). Rates are means over the whole window (min_intervals at least), so a single busy
// interval raises nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tune/tuner.h"

namespace perfbpf::tune {

struct CpuShareConfig {
    // Cgroup paths (as in the samples) that are latency-sensitive whatever their bursts.
    std::vector<std::string> latency_sensitive;
    size_t min_intervals = 3;
    double max_burst_us = 3'000;
    double min_wakeups_per_s = 50;
    double min_hog_burst_us = 20'000;
    double min_hog_cpu = 0.5;  // CPUs (on-CPU seconds per second)
    double max_hog_switches_per_s = 20;
    double raise_wait_ms_per_s = 10;
    double raise_wait_per_run = 0.25;  // run-queue wait / on-CPU time
    double raise_p99_us = 500;
    double lower_wait_ms_per_s = 1;
    double lower_wait_per_run = 0.03;
    double step_factor = 4;
    int64_t weight_ceiling = 1'000;   // v2 cpu.weight (default 100)
    int64_t shares_ceiling = 10'240;  // v1 cpu.shares (default 1024)
    int64_t nice_step = 5;            // per change (the allowlist's largest step)
    int64_t nice_floor = -10;         // raises of priority stop here; below is for administrators
};

std::unique_ptr<Tuner> make_cpu_share_tuner(CpuShareConfig config = {});

}  // namespace perfbpf::tune
