// Workloads the selftest generates itself: child processes running a function, owned by
// RAII (killed by pid and reaped on destruction; we only ever signal our own children).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/result.h"

namespace perfbpf::selftest {

class Worker {
  public:
    // Forks; the child pins itself to `cpu` (when >= 0), runs fn and exits with its result.
    static Result<Worker> start(const std::function<int()>& fn, int cpu = -1);
    // Forks and execs argv (PATH searched); exit status 127 when exec fails. pid() is -1
    // when fork itself failed.
    static Worker spawn(const std::vector<std::string>& argv, int cpu = -1);
    Worker() = default;
    Worker(Worker&& o) noexcept;
    Worker& operator=(Worker&& o) noexcept;
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker();

    pid_t pid() const { return pid_; }
    // Exit status of the child (waits); -signal when killed.
    int wait();
    // True once the child has exited (reaps it without blocking).
    bool exited();
    // User + system CPU time of the reaped child (from wait4), 0 before it was reaped.
    uint64_t cpu_time_ns() const { return cpu_time_ns_; }
    // SIGKILL (to our own child, by pid) and reap.
    void kill();

  private:
    void record_cpu_time(const struct rusage& ru);
    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
    uint64_t cpu_time_ns_ = 0;
};

// Burns CPU for `seconds`.
int spin_for(double seconds);

// Execs this binary with --version (so exec and exit hooks fire); returns its status.
int exec_self_version();

// A TCP transfer of `bytes` over 127.0.0.1 between two workers of ours.
struct TcpTransfer {
    Worker sender;
    Worker receiver;
};
Result<TcpTransfer> start_tcp_transfer(uint64_t bytes);

// A client whose SYN the kernel drops (the listener's accept queue is full and never
// drained), so it retransmits it after the initial RTO (1 s). Runs ~`seconds`.
Result<Worker> start_syn_retransmitter(double seconds);

// Sends `count` UDP datagrams to a closed port on 127.0.0.1 (dropped: no socket).
Result<void> send_udp_to_closed_port(int count);

// Sends `count` ICMP echo requests to `addr` from a ping socket with the smallest receive
// buffer that never reads: the replies overflow its receive queue, each one a
// sock:sock_rcvqueue_full. Allows ping sockets in the current network namespace first
// (net.ipv4.ping_group_range, a per-namespace setting: call it only in a namespace of our
// own). Returns 0, or 1 when the socket could not be made.
int overflow_ping_socket(const char* addr, int count);

// A worker in a network namespace of its own (unshared; it goes away with the worker)
// that runs overflow_ping_socket on its loopback, then stays `seconds`. `netns` is the
// inode of that namespace.
struct NetnsWorker {
    Worker worker;
    uint64_t netns = 0;
};
Result<NetnsWorker> start_private_rcvqueue_overflow(int count, double seconds);

// Touches `bytes` of anonymous memory, then stays alive for `seconds`.
int grow_rss_and_wait(uint64_t bytes, double seconds);

}  // namespace perfbpf::selftest
