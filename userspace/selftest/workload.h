// Workloads the selftest generates itself: child processes running a function, owned by
// RAII (killed by pid and reaped on destruction; we only ever signal our own children).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "util/result.h"

namespace perfbpf::selftest {

class Worker {
  public:
    // Forks; the child pins itself to `cpu` (when >= 0), runs fn and exits with its result.
    static Result<Worker> start(const std::function<int()>& fn, int cpu = -1);
    Worker() = default;
    Worker(Worker&& o) noexcept;
    Worker& operator=(Worker&& o) noexcept;
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker();

    pid_t pid() const { return pid_; }
    // Exit status of the child (waits); -signal when killed.
    int wait();
    void stop();

  private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
};

// Burns CPU for `seconds`.
int spin_for(double seconds);

// Execs this binary with --version (so exec and exit hooks fire); returns its status.
int exec_self_version();

}  // namespace perfbpf::selftest
