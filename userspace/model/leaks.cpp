#include "model/leaks.h"

#include <algorithm>

namespace perfbpf {

void finish_report(LeakReport& r) {
    std::stable_sort(r.stacks.begin(), r.stacks.end(), [](const LeakStack& a, const LeakStack& b) {
        return a.outstanding_bytes > b.outstanding_bytes;
    });
    r.truncated_stacks = static_cast<uint64_t>(std::count_if(
        r.stacks.begin(), r.stacks.end(), [](const LeakStack& s) { return s.truncated; }));
}

}  // namespace perfbpf
