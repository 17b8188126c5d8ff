// memory: memory.high of cgroups whose memory is cold (senpai-style, cgroup v2 only), and
// the host's vm.swappiness from reclaim and major-fault evidence.
//
// memory.high (per cgroup, only for cgroups a --cgroup filter names: squeezing every cold
// cgroup of a host, or relaxing a limit an administrator set, is not ours to do unasked).
// Evidence over the window: memory pressure of the cgroup (memory.pressure "some", mean
// interval share), how cold its memory is (reclaimable inactive pages against anon + file
// at the end of the window: inactive_file, plus inactive_anon only when the host has swap,
// since without swap anonymous memory cannot be reclaimed), working-set refaults (pages,
// against memory.current) and major faults per s.
//  - cold (inactive share >= cold_share, refaults <= max_refault_share of current, major
//    faults <= max_majfault_per_s) and pressure <= target_psi_pct: lower memory.high one
//    step, to step_share under memory.current (from "max" as from a number); never below
//    floor_bytes (and the allowlist's 16 MiB), never more than the allowlist's halving of a
//    number. When that halving would still leave the limit at or above memory.current (a
//    limit more than twice the use), lowering would reclaim nothing and could not verify:
//    nothing. step_share is above the verifier's min_rel_gain (5 %) so that the reclaim it
//    causes can be told from noise. Target: memory.current of the cgroup (lower); guard:
//    its PSI memory some.
//  - pressure > relax_psi_pct (>= target_psi_pct) while memory.high is a number and use
//    went over it in the window (memory.events "high" grew: the limit is what stalls the
//    cgroup, not host-wide pressure, nor throttling sleeps of up to 2 s that the kernel
//    imposed before a raise and that outlast it): relax at once, memory.high x relax_factor. A
//    relief move (Recommendation::relief): the engine's gate lets it through
//    min_gap/reverse_gap/back-off, and it is kept without a verification window. Target: the
//    cgroup's PSI memory some; guard: memory.current.
//  Between target_psi_pct and relax_psi_pct, or with warm memory, nothing (dead band).
//  A named cgroup whose memory data is v1 (hybrid hosts: no memory.high, no per-cgroup PSI),
//  has no memory controller, or has no PSI gets a note (Recommendation::unavailable) that
//  the plan shows instead of silence.
//
// vm.swappiness (host). Evidence: per second over the window, file and anon working-set
// refaults, pages swapped in, major faults; swap must be present (SwapTotal > 0), else
// nothing.
//  - file refaults >= min_refaults_per_s while anon refaults + swap-ins are at most
//    cold_anon_ratio of them: the page cache is squeezed while anon memory is cold: raise
//    (+swappiness_step, up to max_swappiness). Target: file refaults per s (lower); guard:
//    PSI memory some (host).
//  - anon refaults + swap-ins >= min_refaults_per_s, at least the file refaults, and major
//    faults >= min_majfault_per_s: swapped-out anon memory is needed back: lower
//    (-swappiness_step, down to min_swappiness).
//    Target: major faults per s (lower); guard: PSI memory some (host).
//  Anything between: nothing (dead band).
#pragma once

#include <cstdint>
#include <memory>

#include "tune/tuner.h"

namespace perfbpf::tune {

struct MemoryConfig {
    // memory.high
    double target_psi_pct = 0.5;      // mean memory.pressure some, % of the interval
    double relax_psi_pct = 1.0;       // above this, relax at once
    double cold_share = 0.5;          // inactive / (anon + file)
    double max_refault_share = 0.01;  // refaulted bytes in the window / memory.current
    double max_majfault_per_s = 20;
    double step_share = 0.10;  // under memory.current, per lowering step
    double relax_factor = 2;
    uint64_t floor_bytes = 32ull << 20;
    uint64_t min_current_bytes = 32ull << 20;  // smaller cgroups are left alone
    size_t min_intervals = 3;

    // vm.swappiness
    double min_refaults_per_s = 200;  // pages
    double cold_anon_ratio = 0.1;
    double min_majfault_per_s = 50;
    int swappiness_step = 20;
    int max_swappiness = 100;  // raises stop here (above 100 suits only very fast swap)
    int min_swappiness = 10;   // lowerings stop here
};

std::unique_ptr<Tuner> make_memory_tuner(MemoryConfig config = {});

}  // namespace perfbpf::tune
