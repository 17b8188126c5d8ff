// One `perfbpf trace --leaks` session: starts or attaches to the target, loads and
// attaches the probes of the chosen mode, samples every interval, and returns the final
// report, symbolized (also for a target that has exited). Its four parts, in the order
// they run: session_target (what is traced), session_mode (the probes), session_loop
// (sampling, trends) and session_report (the end).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/leaks.h"
#include "util/result.h"

namespace perfbpf {

inline constexpr uint64_t kDefaultLiveMemoryBytes = 256ull << 20;

struct LeaksTraceOptions {
    std::string mode;     // exact | sampled | growth
    bool kernel = false;  // --kernel: kernel allocations instead
    int pid = 0;
    std::vector<std::string> command;
    uint64_t interval_ns = 1'000'000'000;
    uint64_t duration_ns = 0;  // 0: until stopped or the target exits
    uint64_t min_age_ns = 0;   // outstanding allocations younger than this are left out
    uint64_t sample_bytes = 512 * 1024;
    uint64_t growth_sample_bytes =
        0;              // growth mode's mean bytes between stack samples (0: default)
    uint64_t seed = 0;  // sampled mode: 0 = random
    std::string allocator_lib;
    std::string shim_path;        // libperfbpf_shim.so
    std::string inject = "auto";  // -p exact: auto | always | never (uprobes in libc)
    uint32_t max_stacks = 8192;
    // Outstanding allocations are tracked in a kernel table whose entries are allocated as
    // needed, up to this much memory (≈kLiveEntryBytes each); past it they are counted as
    // untracked. max_live > 0 caps the entries instead.
    uint64_t live_memory_bytes = kDefaultLiveMemoryBytes;
    uint32_t max_live = 0;
    // Entries of that table allocated when the trace starts (0: live_prealloc_entries
    // decides); the rest are allocated as needed.
    uint32_t live_prealloc = 0;
};

// Memory one tracked allocation costs the kernel: its hash element (≈88 B in the 96 B
// size class of the BPF allocator) and its share of the bucket array (16 B, sized to the
// next power of two of the entries).
inline constexpr uint64_t kLiveEntryBytes = 128;

// Entries of the table of outstanding allocations: max_live, else what the budget allows.
uint32_t live_entries(const LeaksTraceOptions& opts);

// Entries of that table preallocated when the trace starts: opts.live_prealloc if set,
// else in exact mode all of them when they take at most 1/16 of the memory available
// (MemAvailable, bytes), else as many as 1/16 holds, and never fewer than kLivePrealloc
// (or the table); in sampled mode kLivePrealloc.
// An allocation traced into a preallocated entry costs the kernel a third of one taken as
// needed (docs/leaks.md, Table limits).
uint32_t live_prealloc_entries(const LeaksTraceOptions& opts, uint64_t mem_available_bytes);

// MemAvailable of /proc/meminfo in bytes, 0 when unknown.
uint64_t mem_available_bytes();

// Called at each interval's end with an interim report (symbolized), for the live view.
using LeaksIntervalFn = std::function<void(const LeakReport&)>;

// Errors are one line each: bad PID, command not found, no permission, no allocator.
Result<LeakReport> run_leaks_trace(const LeaksTraceOptions& opts, const std::atomic<bool>& stop,
                                   const LeaksIntervalFn& on_interval = {});

// Where libperfbpf_shim.so is for the running binary (/proc/self/exe): next to it or in
// ../lib/perfbpf/ (util/install_paths.h), or an error.
Result<std::string> find_shim_library();

}  // namespace perfbpf
