// The leak tracer's report (`perfbpf trace --leaks`): plain values, rendered as text,
// JSON and folded stacks by sinks/leaks_sink. No kernel handles.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/trend.h"

namespace perfbpf {

struct LeakFrame {
    std::string function;  // demangled; "module+0xoffset" when unknown
    std::string file;
    int line = 0;  // line of the call for a caller's frame; 0 when unknown
    std::string module;
    uint64_t offset = 0;  // address in the module's ELF file (kernel: the address)
    bool inlined = false;
    bool kernel = false;  // a kernel function (kernel mode: before the user frames)
};

struct LeakStack {
    uint32_t index = 0;         // id in the tracer's stack table
    std::vector<uint64_t> ips;  // raw addresses, innermost first
    bool kernel = false;
    bool ip0_exact = false;  // ips[0] is the probed instruction, not a return address
    bool whole = false;      // the unwinder itself reached the thread's outermost frame
    // Growth mode: the word at the top of the stack, the caller of a function that pushed
    // no frame (kept as frame 1 when it follows a call instruction).
    uint64_t caller_candidate = 0;
    // Kernel mode with a target: the user call path that led to the kernel stack (its own
    // innermost-first addresses; empty when the allocation came from an interrupt or a
    // kernel thread). Symbolized after the kernel frames, into `frames`.
    std::vector<uint64_t> user_ips;
    bool user_whole = false;
    uint64_t user_caller_candidate = 0;
    std::vector<LeakFrame> frames;  // symbolized (shim frames removed)
    bool truncated = false;         // the unwinder stopped before the thread's first frame

    // Totals over the trace (estimates in sampled mode)
    double outstanding_bytes = 0;
    double outstanding_allocs = 0;
    double total_allocs = 0;
    double total_frees = 0;
    double allocated_bytes = 0;
    double untracked_allocs = 0;      // no room to track them: not in outstanding_* (a lower bound)
    double outstanding_bytes_lo = 0;  // sampled mode: 95 % interval
    double outstanding_bytes_hi = 0;
    uint64_t samples = 0;        // sampled mode: sampled allocations still outstanding
    uint64_t oldest_age_ns = 0;  // age of the oldest outstanding allocation at the end
    // Exact mode, from the reachability scan at the end (LeakReport::reachability): the
    // outstanding bytes by memcheck's classes.
    double lost_bytes = 0;  // definitely lost
    double indirect_bytes = 0;
    double possible_bytes = 0;
    double reachable_bytes = 0;
    std::vector<TrendPoint> series;  // outstanding bytes at each interval end

    TrendVerdict trend;
};

// Growth mode: one process's resident memory over the trace.
struct ProcessGrowth {
    int pid = 0;
    std::string comm;
    std::vector<TrendPoint> rss;   // RSS bytes at each interval end
    std::vector<TrendPoint> anon;  // anonymous RSS bytes
    TrendVerdict trend;
    double heap_growth_bytes = 0;  // brk + anonymous mmap - munmap over the trace
    double faulted_bytes = 0;      // anonymous memory first touched
};

// Allocations with no stored stack (its table was full, or nothing could be unwound):
// totals only, never a leak site.
struct UnattributedAllocs {
    double allocs = 0;
    double outstanding_bytes = 0;
    double outstanding_allocs = 0;
};

// Outstanding bytes and blocks of the whole target by reachability class.
struct ReachSummary {
    bool scanned = false;
    double lost_bytes = 0, indirect_bytes = 0, possible_bytes = 0, reachable_bytes = 0;
    uint64_t lost_blocks = 0, indirect_blocks = 0, possible_blocks = 0, reachable_blocks = 0;
    uint64_t root_bytes = 0;  // memory scanned as roots
    uint64_t threads = 0;     // threads whose registers and stacks were roots
};

// Sampled mode: the program's outstanding bytes, every stack (and the unattributed) together.
struct SampledTotal {
    double bytes = 0;
    double bytes_lo = 0;  // 95 % interval
    double bytes_hi = 0;
    uint64_t samples = 0;
};

struct LeakReport {
    std::string mode;  // exact | sampled | growth | kernel
    int pid = 0;       // 0: system-wide (kernel mode)
    std::string comm;
    uint64_t duration_ns = 0;
    bool estimated = false;
    uint64_t sample_mean_bytes = 0;
    uint64_t truncated_stacks = 0;
    bool target_exited = false;
    int exit_code = 0;
    std::vector<LeakStack> stacks;             // sorted by outstanding bytes, descending
    UnattributedAllocs unattributed;           // not in `stacks`
    ReachSummary reach;                        // exact mode: all outstanding blocks
    SampledTotal sampled_total;                // sampled mode
    std::vector<ProcessGrowth> processes;      // growth mode
    std::map<std::string, uint64_t> counters;  // tracer counters and drops
    std::vector<std::string> notes;            // what the reader should know (overhead, limits)
};

// Sorts stacks by outstanding bytes (descending) and counts truncated ones.
void finish_report(LeakReport& r);

}  // namespace perfbpf
