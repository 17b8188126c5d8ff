// Kernel mode's reader: per-stack totals of kernel allocations every interval, and at
// the end the outstanding ones (ages) and the kernel stacks.
#pragma once

#include <map>

#include "model/leaks.h"
#include "perfbpf/leaks_kernel.h"

namespace perfbpf {

class LeaksKernelProbe;

class LeaksKernelReader {
  public:
    LeaksKernelReader(const LeaksKernelProbe& probe, uint64_t start_ns)
        : probe_(probe), start_ns_(start_ns) {}
    void sample(uint64_t now_ns);
    LeakReport report(uint64_t now_ns, uint64_t min_age_ns);

  private:
    const LeaksKernelProbe& probe_;
    uint64_t start_ns_;
    std::map<int32_t, kleaks_stats> last_;
    std::map<int32_t, std::vector<TrendPoint>> series_;
};

}  // namespace perfbpf
