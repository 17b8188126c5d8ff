// memory: memory.high of cgroups whose memory is cold (senpai-style, cgroup v2 only), and
// the host's vm.swappiness from reclaim and major-fault evidence.
//
// memory.high (per cgroup in the window that the filter allows). Evidence over the window:
// memory pressure of the cgroup (memory.pressure "some", mean interval share), how cold
// its memory is (inactive_anon + inactive_file against anon + file, at the end of the
// window), working-set refaults (pages, against memory.current) and major faults per s.
//  - cold (inactive share >= cold_share, refaults <= max_refault_share of current, major
//    faults <= max_majfault_per_s) and pressure <= target_psi_pct: lower memory.high one
//    small step: from "max" (or a limit far above usage) to just under memory.current,
//    else by step_share of memory.current; never below floor_bytes (and the allowlist's
//    16 MiB). Target: memory.current of the cgroup (lower); guard: its PSI memory some.
//  - pressure > relax_psi_pct (>= target_psi_pct) while memory.high is a number: relax at
//    once, memory.high x relax_factor. A relief move (Recommendation::relief): the engine's
//    gate lets it through min_gap/reverse_gap, and it is kept without a verification
//    window. Target: the cgroup's PSI memory some; guard: memory.current.
//  Between target_psi_pct and relax_psi_pct, or with warm memory, nothing (dead band).
//  A cgroup whose memory data is v1 (hybrid hosts: no memory.high, no per-cgroup PSI) gets
//  a note (Recommendation::unavailable) that the plan shows instead of silence.
//
// vm.swappiness (host). Evidence: per second over the window, file and anon working-set
// refaults, pages swapped in, major faults; swap must be present (SwapTotal > 0), else
// nothing.
//  - file refaults >= min_refaults_per_s while anon refaults + swap-ins are at most
//    cold_anon_ratio of them: the page cache is squeezed while anon memory is cold: raise
//    (+20). Target: file refaults per s (lower); guard: PSI memory some (host).
//  - anon refaults + swap-ins >= min_refaults_per_s, at least the file refaults, and major
//    faults >= min_majfault_per_s: swapped-out anon memory is needed back: lower (-20).
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
    double step_share = 0.05;        // of memory.current, per lowering step
    double first_step_share = 0.02;  // from "max": this much under memory.current
    double relax_factor = 2;
    uint64_t floor_bytes = 32ull << 20;
    uint64_t min_current_bytes = 32ull << 20;  // smaller cgroups are left alone
    size_t min_intervals = 3;

    // vm.swappiness
    double min_refaults_per_s = 200;  // pages
    double cold_anon_ratio = 0.1;
    double min_majfault_per_s = 50;
    int swappiness_step = 20;
};

std::unique_ptr<Tuner> make_memory_tuner(MemoryConfig config = {});

}  // namespace perfbpf::tune
