// top's `H`: the threads of one process from /proc/PID/task, read only while a user looks
// at them (the collector follows thread groups).
#pragma once

#include <string>
#include <vector>

#include "collect/parse/thread_deltas.h"
#include "util/result.h"

namespace perfbpf {

class ThreadReader {
  public:
    explicit ThreadReader(std::string proc_root = "/proc") : proc_root_(std::move(proc_root)) {}

    // The threads of `pid` by tid, with their CPU share since the previous call for the
    // same pid. Threads that exit while being read are left out; an error when the
    // process's task directory cannot be read (it exited, or no permission).
    Result<std::vector<ThreadSample>> read(int pid);

  private:
    std::string proc_root_;
    ThreadDeltas deltas_;
};

}  // namespace perfbpf
