// The arithmetic of top's per-thread rows (`H`): running totals of one process's threads
// in, their shares since the previous reading out. Plain C++ so unit tests drive it;
// collect/thread_reader.cpp feeds it from /proc.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/thread_sample.h"

namespace perfbpf {

// A thread's totals since it started, as /proc/PID/task/TID/{stat,schedstat} give them.
struct ThreadTotals {
    int tid = 0;
    std::string comm;
    char state = '?';
    uint64_t oncpu_ns = 0;      // schedstat field 1
    uint64_t runq_wait_ns = 0;  // schedstat field 2
};

class ThreadDeltas {
  public:
    // The threads of `pid` read at `now_ns` (monotonic), in the order given. A thread seen
    // at the previous reading of the same pid gets its CPU share and waits since then; a
    // new one, or any thread after a change of pid, is unmeasured until the next reading.
    std::vector<ThreadSample> update(int pid, const std::vector<ThreadTotals>& now,
                                     uint64_t now_ns);

  private:
    int pid_ = 0;
    uint64_t last_ns_ = 0;
    std::map<int, ThreadTotals> last_;
};

}  // namespace perfbpf
