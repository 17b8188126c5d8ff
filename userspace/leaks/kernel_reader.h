// Kernel mode's reader: per-stack totals of kernel allocations every interval, and at
// the end the outstanding ones (ages) and the kernel stacks, each with the user call path
// that led to it when the trace has a target (user contexts unwound with DWARF).
#pragma once

#include <map>
#include <utility>

#include "leaks/user_contexts.h"
#include "model/leaks.h"
#include "perfbpf/leaks_kernel.h"
#include "symbolize/proc_maps.h"

namespace perfbpf {

class LeaksKernelProbe;

class LeaksKernelReader {
  public:
    LeaksKernelReader(const LeaksKernelProbe& probe, uint64_t start_ns);
    // `maps`: the target's mappings, to unwind the user contexts sent since the last call.
    void sample(uint64_t now_ns, const MappingSet& maps);
    // Between samples, often: empties the ring buffer of user contexts.
    void drain() { contexts_.drain(); }
    LeakReport report(uint64_t now_ns, uint64_t min_age_ns);

  private:
    const LeaksKernelProbe& probe_;
    uint64_t start_ns_;
    using Key = std::pair<int32_t, uint32_t>;  // kernel stack id, user context id
    std::map<Key, kleaks_stats> last_;
    std::map<Key, std::vector<TrendPoint>> series_;
    UserContexts contexts_;
};

}  // namespace perfbpf
