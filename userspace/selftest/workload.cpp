#include "selftest/workload.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace perfbpf::selftest {

Result<Worker> Worker::start(const std::function<int()>& fn, int cpu) {
    pid_t pid = fork();
    if (pid < 0) return fail_errno("fork selftest workload", errno);
    if (pid == 0) {
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            sched_setaffinity(0, sizeof(set), &set);
        }
        _exit(fn());
    }
    Worker w;
    w.pid_ = pid;
    return w;
}

Worker::Worker(Worker&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), reaped_(o.reaped_), status_(o.status_) {}

Worker& Worker::operator=(Worker&& o) noexcept {
    if (this != &o) {
        stop();
        pid_ = std::exchange(o.pid_, -1);
        reaped_ = o.reaped_;
        status_ = o.status_;
    }
    return *this;
}

Worker::~Worker() {
    stop();
}

void Worker::stop() {
    if (pid_ > 0 && !reaped_) {
        ::kill(pid_, SIGKILL);
        wait();
    }
}

int Worker::wait() {
    if (pid_ <= 0) return -1;
    if (!reaped_) {
        while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
    }
    if (WIFEXITED(status_)) return WEXITSTATUS(status_);
    if (WIFSIGNALED(status_)) return -WTERMSIG(status_);
    return -1;
}

int spin_for(double seconds) {
    timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    volatile unsigned long x = 0;
    for (;;) {
        for (int i = 0; i < 100000; ++i) x = x + static_cast<unsigned long>(i);
        clock_gettime(CLOCK_MONOTONIC, &now);
        double t = static_cast<double>(now.tv_sec - start.tv_sec) +
                   static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9;
        if (t >= seconds) return 0;
    }
}

int exec_self_version() {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
        execl("/proc/self/exe", "perfbpf", "--version", static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace perfbpf::selftest
