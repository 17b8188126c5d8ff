#include "selftest/workload.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
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

void Worker::record_cpu_time(const struct rusage& ru) {
    auto ns = [](const timeval& tv) {
        return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000ULL +
               static_cast<uint64_t>(tv.tv_usec) * 1000ULL;
    };
    cpu_time_ns_ = ns(ru.ru_utime) + ns(ru.ru_stime);
}

Worker Worker::spawn(const std::vector<std::string>& argv, int cpu) {
    auto w = start(
        [&argv]() -> int {
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execvp(args[0], args.data());
            return 127;
        },
        cpu);
    return w ? std::move(*w) : Worker();
}

Worker::Worker(Worker&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), reaped_(o.reaped_), status_(o.status_) {}

Worker& Worker::operator=(Worker&& o) noexcept {
    if (this != &o) {
        kill();
        pid_ = std::exchange(o.pid_, -1);
        reaped_ = o.reaped_;
        status_ = o.status_;
    }
    return *this;
}

Worker::~Worker() {
    kill();
}

void Worker::kill() {
    if (pid_ > 0 && !reaped_) {
        ::kill(pid_, SIGKILL);
        wait();
    }
}

bool Worker::exited() {
    if (pid_ <= 0 || reaped_) return true;
    struct rusage ru {};
    if (wait4(pid_, &status_, WNOHANG, &ru) == pid_) {
        reaped_ = true;
        record_cpu_time(ru);
    }
    return reaped_;
}

int Worker::wait() {
    if (pid_ <= 0) return -1;
    if (!reaped_) {
        struct rusage ru {};
        while (wait4(pid_, &status_, 0, &ru) < 0 && errno == EINTR) {
        }
        reaped_ = true;
        record_cpu_time(ru);
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
