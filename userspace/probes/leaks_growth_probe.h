// Loader of bpf/leaks_growth.bpf.c: growth mode of `trace --leaks` (no allocator probes).
#pragma once

#include <memory>

#include "perfbpf/leaks_growth.h"
#include "probes/bpf_object.h"
#include "util/result.h"

struct leaks_growth_bpf;

namespace perfbpf {

class LeaksGrowthProbe {
  public:
    // Fails when the page-fault tracepoint cannot be attached (the mode's core).
    static Result<std::unique_ptr<LeaksGrowthProbe>> load(const SharedMaps& shared, int tgid);
    ~LeaksGrowthProbe();

    int growth_fd() const;
    int stacks_fd() const;
    growth_totals totals() const;
    const std::vector<ProbeStatus>& status() const { return table_.status(); }

  private:
    LeaksGrowthProbe() : table_("leaks_growth") {}
    ProgramTable table_;
    Skeleton<leaks_growth_bpf> skel_;
    std::vector<LinkPtr> links_;
};

}  // namespace perfbpf
