// Loader of bpf/leaks.bpf.c: the allocator side of `perfbpf trace --leaks` (exact and
// sampled modes). Not a `top` family: the trace command loads it for one target.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "probes/bpf_object.h"
#include "util/result.h"

struct leaks_bpf;

namespace perfbpf {

// The fewest entries of the outstanding allocations' table allocated when it is created
// (≈104 B each: 26 MiB of kernel memory held while tracing); the rest of --live-memory is
// taken as needed, at a higher cost per allocation traced (bpf/leaks.bpf.c).
inline constexpr uint32_t kLivePrealloc = 1u << 18;

struct LeaksProbeOptions {
    int tgid = 0;                       // the traced process
    uint32_t max_stacks = 8192;         // distinct allocation stacks
    uint32_t max_live = 1u << 18;       // outstanding allocations tracked at once
    uint32_t live_prealloc = 1u << 18;  // of max_live, preallocated when the table is made
    bool shim = true;                   // batches from the interposition library; else libc probes
};

// One uprobe placed on an allocator function.
struct AllocatorProbe {
    std::string function;
    uint64_t offset = 0;    // from the function's start
    bool emulated = false;  // false: the kernel single-steps it (slow)
    bool attached = false;
    std::string reason;
};

class LeaksProbe {
  public:
    static Result<std::unique_ptr<LeaksProbe>> load(const SharedMaps& shared,
                                                    const LeaksProbeOptions& opts);
    ~LeaksProbe();

    // Uprobe on the shim's hook, for process `pid` only.
    Result<void> attach_shim(const std::string& shim_path, int pid);
    // Uprobes on the allocator functions of `lib` (a file the target maps). Fails when
    // malloc or free cannot be probed; the rest is best effort, reported in probes().
    Result<void> attach_allocator(const std::string& lib, int pid);
    const std::vector<AllocatorProbe>& probes() const { return probes_; }

    // The outstanding allocations' two tiers: preallocated, then allocated as needed.
    std::array<int, 2> live_fds() const;
    int stack_stats_fd() const;
    int stacks_fd() const;
    int counters_fd() const;
    uint32_t stack_base() const;
    uint32_t stack_top() const;
    uint32_t images() const;
    uint64_t sample_mean_bytes() const;
    uint32_t max_stacks() const { return opts_.max_stacks; }

  private:
    LeaksProbe() : table_("leaks") {}
    LeaksProbeOptions opts_;
    ProgramTable table_;
    Skeleton<leaks_bpf> skel_;
    std::vector<LinkPtr> links_;
    std::vector<AllocatorProbe> probes_;
};

}  // namespace perfbpf
