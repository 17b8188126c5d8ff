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
    // `sample_bytes`: mean growth between two stack samples (0: the default).
    static Result<std::unique_ptr<LeaksGrowthProbe>> load(const SharedMaps& shared, int tgid,
                                                          uint64_t sample_bytes = 0);
    ~LeaksGrowthProbe();

    int samples_fd() const;  // ring buffer of struct growth_sample
    uint64_t sample_bytes() const { return sample_bytes_; }
    growth_totals totals() const;
    const std::vector<ProbeStatus>& status() const { return table_.status(); }
    const ProgramTable& programs() const { return table_; }

  private:
    LeaksGrowthProbe() : table_("leaks_growth") {}
    ProgramTable table_;
    Skeleton<leaks_growth_bpf> skel_;
    std::vector<LinkPtr> links_;
    uint64_t sample_bytes_ = GROWTH_DEFAULT_SAMPLE_BYTES;
};

}  // namespace perfbpf
