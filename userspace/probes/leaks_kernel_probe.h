// Loader of bpf/leaks_kernel.bpf.c: kernel allocations for `trace --leaks --kernel`.
#pragma once

#include <memory>

#include "perfbpf/leaks_kernel.h"
#include "probes/bpf_object.h"
#include "util/result.h"

struct leaks_kernel_bpf;

namespace perfbpf {

class LeaksKernelProbe {
  public:
    // tgid 0: every process. Fails when neither kmalloc nor kmem_cache_alloc attaches.
    static Result<std::unique_ptr<LeaksKernelProbe>> load(const SharedMaps& shared, int tgid);
    ~LeaksKernelProbe();

    int live_fd() const;
    int stats_fd() const;
    int stacks_fd() const;
    int user_stacks_fd() const;  // ring buffer of struct kleaks_ustack
    uint64_t live_full() const;
    uint64_t stack_errors() const;
    kleaks_user_totals user_totals() const;
    const std::vector<ProbeStatus>& status() const { return table_.status(); }

  private:
    LeaksKernelProbe() : table_("leaks_kernel") {}
    ProgramTable table_;
    Skeleton<leaks_kernel_bpf> skel_;
    std::vector<LinkPtr> links_;
};

}  // namespace perfbpf
