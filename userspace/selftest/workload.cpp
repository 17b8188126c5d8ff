#include "selftest/workload.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "util/fd.h"
#include "util/files.h"

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

namespace {

void sleep_seconds(double seconds) {
    auto whole = static_cast<time_t>(seconds);
    timespec ts{whole, static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

Result<int> tcp_listener(int backlog, uint16_t* port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("socket", errno);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd, backlog) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        int err = errno;
        ::close(fd);
        return fail_errno("listen on 127.0.0.1", err);
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

int connect_loopback(uint16_t port, bool nonblocking) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
        !(nonblocking && errno == EINPROGRESS)) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

Result<TcpTransfer> start_tcp_transfer(uint64_t bytes) {
    uint16_t port = 0;
    auto listener = tcp_listener(1, &port);
    if (!listener) return std::unexpected(listener.error());
    UniqueFd lfd(*listener);
    auto receiver = Worker::start([&]() -> int {
        int c = ::accept(lfd.get(), nullptr, nullptr);
        if (c < 0) return 1;
        std::vector<char> buf(1 << 16);
        for (;;) {
            ssize_t n = ::read(c, buf.data(), buf.size());
            if (n <= 0) return n == 0 ? 0 : 1;
        }
    });
    if (!receiver) return std::unexpected(receiver.error());
    auto sender = Worker::start([&]() -> int {
        int c = connect_loopback(port, false);
        if (c < 0) return 1;
        std::vector<char> buf(1 << 16, 'x');
        uint64_t left = bytes;
        while (left) {
            ssize_t n = ::write(c, buf.data(), std::min<uint64_t>(left, buf.size()));
            if (n <= 0) return 1;
            left -= static_cast<uint64_t>(n);
        }
        ::close(c);
        return 0;
    });
    if (!sender) return std::unexpected(sender.error());
    return TcpTransfer{std::move(*sender), std::move(*receiver)};
}

Result<Worker> start_syn_retransmitter(double seconds) {
    uint16_t port = 0;
    // Backlog 0: the accept queue is full after one connection, and the next SYNs are
    // dropped by the listener, so their senders retransmit them.
    auto listener = tcp_listener(0, &port);
    if (!listener) return std::unexpected(listener.error());
    UniqueFd lfd(*listener);
    return Worker::start([&, port]() -> int {
        std::vector<UniqueFd> clients;
        for (int i = 0; i < 4; ++i) clients.emplace_back(connect_loopback(port, true));
        sleep_seconds(seconds);
        return 0;
    });
}

Result<void> send_udp_to_closed_port(int count) {
    // Bind a port, then close it: nothing listens there while we send.
    UniqueFd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    UniqueFd out(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!probe.valid() || !out.valid()) return fail_errno("udp socket", errno);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return fail_errno("bind udp 127.0.0.1", errno);
    probe.reset();
    char byte = 0;
    for (int i = 0; i < count; ++i)
        ::sendto(out.get(), &byte, 1, 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    return {};
}

int overflow_ping_socket(const char* addr, int count) {
    if (!write_file("/proc/sys/net/ipv4/ping_group_range", "0 2147483647")) return 1;
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP));
    if (!fd.valid()) return 1;
    int one = 1;  // raised to the kernel's minimum: room for two or three replies
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    if (::inet_pton(AF_INET, addr, &to.sin_addr) != 1) return 1;
    for (int i = 0; i < count; ++i) {
        icmphdr echo{};
        echo.type = ICMP_ECHO;
        echo.un.echo.sequence = htons(static_cast<uint16_t>(i));
        char packet[sizeof(echo) + 56] = {};
        std::memcpy(packet, &echo, sizeof(echo));
        ::sendto(fd.get(), packet, sizeof(packet), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    }
    return 0;
}

namespace {

// Brings the loopback device of the current network namespace up.
bool loopback_up() {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (!fd.valid() || ::ioctl(fd.get(), SIOCGIFFLAGS, &ifr) != 0) return false;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    return ::ioctl(fd.get(), SIOCSIFFLAGS, &ifr) == 0;
}

}  // namespace

Result<NetnsWorker> start_private_rcvqueue_overflow(int count, double seconds) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe", errno);
    UniqueFd rd(fds[0]), wr(fds[1]);
    auto w = Worker::start([&]() -> int {
        rd.reset();
        struct stat st {};
        if (::unshare(CLONE_NEWNET) != 0 || !loopback_up() || ::stat("/proc/self/ns/net", &st) != 0)
            return 2;
        uint64_t inode = st.st_ino;
        if (::write(wr.get(), &inode, sizeof(inode)) != sizeof(inode)) return 2;
        wr.reset();
        if (overflow_ping_socket("127.0.0.1", count) != 0) return 1;
        sleep_seconds(seconds);
        return 0;
    });
    if (!w) return std::unexpected(w.error());
    wr.reset();
    NetnsWorker out{std::move(*w), 0};
    pollfd pfd{rd.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 5000) != 1 ||
        ::read(rd.get(), &out.netns, sizeof(out.netns)) != static_cast<ssize_t>(sizeof(out.netns)))
        return fail("the worker could not make a network namespace of its own (unshare, exit " +
                    std::to_string(out.worker.wait()) + ")");
    return out;
}

int grow_rss_and_wait(uint64_t bytes, double seconds) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    auto* c = static_cast<volatile char*>(p);
    for (uint64_t off = 0; off < bytes; off += 4096) c[off] = 1;
    sleep_seconds(seconds);
    return 0;
}

}  // namespace perfbpf::selftest
