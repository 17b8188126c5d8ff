// One thread of a process, read on demand (top's `H`) rather than every interval: the
// collector follows thread groups, and a /proc walk of every thread would cost each
// interval what only the process a user looks at needs. Not part of a Snapshot.
#pragma once

#include <cstdint>
#include <string>

namespace perfbpf {

struct ThreadSample {
    int tid = 0;
    std::string comm;
    char state = '?';
    // false on the first reading of a thread: its CPU share needs a second one.
    bool measured = false;
    double cpu_pct = 0;         // since the previous reading; 100 = one CPU
    uint64_t oncpu_ns = 0;      // since the previous reading (/proc/PID/task/TID/schedstat)
    uint64_t runq_wait_ns = 0;  // likewise
};

}  // namespace perfbpf
