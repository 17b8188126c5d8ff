// Per-namespace evidence in two network namespaces the tests create (ip netns, a veth
// between them; removed afterwards): what happens in one is counted there and not in the
// other. Per-namespace settings (tcp_rmem, ping_group_range) are changed only in them.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "collect/parse/procfs.h"
#include "support.h"
#include "util/fd.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using test::Child;
using test::fixture;
using test::in_netns;
using test::NetnsPair;
using test::run_command;

sockaddr_in ipv4(const char* addr, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = inet_addr(addr);
    return sa;
}

// In a forked worker: joins /run/netns/NAME (the worker only) and runs fn.
Result<Child> in_netns(const std::string& name, std::function<int()> fn) {
    return Child::start([name, fn] {
        UniqueFd fd(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd.valid() || ::setns(fd.get(), CLONE_NEWNET) != 0) return 3;
        return fn();
    });
}

// One namespace's evidence summed over intervals.
struct Totals {
    NetnsSample sum;
    bool seen = false, named = false, netstat = true;
};

void add(const NetnsSample& n, Totals& t) {
    t.seen = true;
    t.named |= !n.name.empty();
    t.netstat &= n.netstat_available;
    NetnsSample& s = t.sum;
    s.tcp_tx_bytes += n.tcp_tx_bytes;
    s.tcp_rx_bytes += n.tcp_rx_bytes;
    s.rcvqueue_full += n.rcvqueue_full;
    s.mem_limit_send += n.mem_limit_send;
    s.mem_limit_recv += n.mem_limit_recv;
    for (const auto& [k, v] : n.packet_drops) s.packet_drops[k] += v;
    s.packet_drops_total += n.packet_drops_total;
    if (n.rcvbuf_grow) {
        s.rcvbuf_grow = s.rcvbuf_grow.value_or(0) + *n.rcvbuf_grow;
        s.rcvbuf_grow_at_max = s.rcvbuf_grow_at_max.value_or(0) + *n.rcvbuf_grow_at_max;
    }
    s.tcp_samples += n.tcp_samples;
    s.rwnd_limited_samples += n.rwnd_limited_samples;
    s.rcvbuf_at_max_samples += n.rcvbuf_at_max_samples;
    s.rcvbuf_avg_bytes = std::max(s.rcvbuf_avg_bytes, n.rcvbuf_avg_bytes);
    s.listen_overflows += n.listen_overflows;
    s.listen_drops += n.listen_drops;
}

// Collects until every child has exited (and one more interval), summing both namespaces.
std::pair<Totals, Totals> collect(Collector& c, const NetnsPair& net, std::vector<Child*> children,
                                  int min_intervals = 2) {
    Totals a, b;
    const uint64_t ia = NetnsPair::inode(net.a()), ib = NetnsPair::inode(net.b());
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    bool last = false;
    for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
        bool all_exited = true;
        for (Child* ch : children) all_exited &= ch->exited();
        Snapshot s = c.next();
        for (const auto& n : s.netns) {
            if (n.inode == ia) add(n, a);
            if (n.inode == ib) add(n, b);
        }
        if (last && i + 1 >= min_intervals) break;
        last = all_exited;
    }
    return {a, b};
}

TEST(Netns, BufferLimitsCountInTheReceiversNamespaceOnly) {
    PERFBPF_REQUIRE_ROOT();
    std::string error;
    auto net = NetnsPair::create(&error);
    ASSERT_TRUE(net) << error;
    // B's own TCP receive buffers may grow to 64 KiB at most.
    ASSERT_TRUE(NetnsPair::set(net->b(), "net/ipv4/tcp_rmem", "\"4096 16384 65536\""));
    auto collector = test::family_collector({"sched", "net"}, 500'000'000);
    ASSERT_TRUE(collector);
    collector->next();  // the namespaces' baselines

    // B's ping socket, 1-byte receive buffer, never read: A's echo replies overflow it.
    constexpr int kEchoes = 200;
    auto pinger =
        in_netns(net->b(), [] { return selftest::overflow_ping_socket("10.204.1.1", kEchoes); });
    ASSERT_TRUE(pinger) << pinger.error().message;
    // A TCP stream from A to a reader in B, limited by B's small window.
    test::TempDir dir;
    const std::string port_file = dir.path() + "/port";
    Child rx = Child::spawn({fixture("tcp_pair"), "-n", net->b(), "recv", port_file, "10.204.1.2"});
    int port = test::wait_for_port(port_file);
    ASSERT_GT(port, 0) << "receiver did not start";
    Child tx = Child::spawn({fixture("tcp_pair"), "-n", net->a(), "send", "10.204.1.2",
                             std::to_string(port), "0", "2"});
    auto [a, b] = collect(*collector, *net, {&*pinger, &rx, &tx});
    ASSERT_EQ(pinger->wait(), 0) << "no ping socket in the namespace";
    ASSERT_EQ(tx.wait(), 0);
    ASSERT_EQ(rx.wait(), 0);

    std::printf(
        "[measured] B: rcvqueue_full %llu, SOCKET_RCVBUFF drops %llu, rx %llu B, rcvbuf at max "
        "in %llu of %llu samples (avg rcvbuf %llu B), rcvbuf_grow %lld (at max %lld); A: tx %llu "
        "B, rwnd-limited in %llu of %llu samples\n",
        (unsigned long long)b.sum.rcvqueue_full,
        (unsigned long long)b.sum.packet_drops["SOCKET_RCVBUFF"],
        (unsigned long long)b.sum.tcp_rx_bytes, (unsigned long long)b.sum.rcvbuf_at_max_samples,
        (unsigned long long)b.sum.tcp_samples, (unsigned long long)b.sum.rcvbuf_avg_bytes,
        b.sum.rcvbuf_grow ? (long long)*b.sum.rcvbuf_grow : -1LL,
        b.sum.rcvbuf_grow_at_max ? (long long)*b.sum.rcvbuf_grow_at_max : -1LL,
        (unsigned long long)a.sum.tcp_tx_bytes, (unsigned long long)a.sum.rwnd_limited_samples,
        (unsigned long long)a.sum.tcp_samples);
    ASSERT_TRUE(a.seen && b.seen);
    EXPECT_TRUE(a.named && b.named);  // their `ip netns` names
    // All but the two or three replies that fit; none in A.
    EXPECT_GE(b.sum.rcvqueue_full, static_cast<uint64_t>(kEchoes - 10));
    EXPECT_LE(b.sum.rcvqueue_full, static_cast<uint64_t>(kEchoes));
    EXPECT_EQ(a.sum.rcvqueue_full, 0u);
    EXPECT_GE(b.sum.packet_drops["SOCKET_RCVBUFF"], static_cast<uint64_t>(kEchoes - 10));
    EXPECT_EQ(a.sum.packet_drops["SOCKET_RCVBUFF"], 0u);
    // The stream: sent in A, received in B.
    EXPECT_GT(a.sum.tcp_tx_bytes, 16u << 20);
    EXPECT_EQ(a.sum.tcp_rx_bytes, 0u);
    EXPECT_NEAR(static_cast<double>(b.sum.tcp_rx_bytes), static_cast<double>(a.sum.tcp_tx_bytes),
                0.01 * static_cast<double>(a.sum.tcp_tx_bytes));
    // B's buffers sit at B's tcp_rmem max; A's do not (A's max is the host default).
    EXPECT_GT(b.sum.tcp_samples, 0u);
    EXPECT_GT(b.sum.rcvbuf_at_max_samples, b.sum.tcp_samples / 2);
    EXPECT_LE(b.sum.rcvbuf_avg_bytes, 65536u);
    EXPECT_EQ(a.sum.rcvbuf_at_max_samples, 0u);
    // A's sender waits for B's window.
    EXPECT_GT(a.sum.rwnd_limited_samples, a.sum.tcp_samples / 2);
    if (b.sum.rcvbuf_grow) {  // tcp:tcp_rcvbuf_grow exists on this kernel
        EXPECT_GT(*b.sum.rcvbuf_grow_at_max, 0u);
        EXPECT_EQ(a.sum.rcvbuf_grow_at_max.value_or(0), 0u);
    }
}

TEST(Netns, ListenOverflowsCountInTheListenersNamespaceOnly) {
    PERFBPF_REQUIRE_ROOT();
    std::string error;
    auto net = NetnsPair::create(&error);
    ASSERT_TRUE(net) << error;
    auto collector = test::family_collector({"sched", "net"}, 500'000'000);
    ASSERT_TRUE(collector);
    collector->next();  // baselines; A's netstat read from inside it (no process there yet)

    constexpr uint16_t kPort = 7777;  // in A, a namespace of our own
    auto listener = in_netns(net->a(), [] {
        UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
        sockaddr_in sa = ipv4("10.204.1.1", kPort);
        if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
            ::listen(fd.get(), 1) != 0)
            return 1;
        ::sleep(3);  // never accepts
        return 0;
    });
    ASSERT_TRUE(listener) << listener.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    constexpr int kConnects = 20;
    auto client = in_netns(net->b(), [] {
        std::vector<UniqueFd> fds;
        sockaddr_in sa = ipv4("10.204.1.1", kPort);
        for (int i = 0; i < kConnects; ++i) {
            fds.emplace_back(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
            ::connect(fds.back().get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
        }
        ::sleep(2);
        return 0;
    });
    ASSERT_TRUE(client) << client.error().message;
    auto [a, b] = collect(*collector, *net, {&*listener, &*client});
    ASSERT_EQ(listener->wait(), 0);
    const uint64_t kernel_overflows = NetnsPair::tcp_ext(net->a(), "ListenOverflows");
    std::printf("[measured] A: listen_overflows %llu (kernel %llu), listen_drops %llu; B: %llu\n",
                (unsigned long long)a.sum.listen_overflows, (unsigned long long)kernel_overflows,
                (unsigned long long)a.sum.listen_drops, (unsigned long long)b.sum.listen_overflows);
    EXPECT_TRUE(a.netstat && b.netstat);
    ASSERT_GT(kernel_overflows, 0u) << "the accept queue never overflowed; the setup is wrong";
    // Fresh namespaces: everything the kernel counted, from our baseline on, and in A only.
    EXPECT_EQ(a.sum.listen_overflows, kernel_overflows);
    EXPECT_GE(a.sum.listen_drops, a.sum.listen_overflows);
    EXPECT_EQ(b.sum.listen_overflows, 0u);
}

// Host-wide settings may change only in the qemu guest: ctest runs these there
// (netns.vm-debian-6.1), with PERFBPF_IN_GUEST=1, and leaves them out of the host's list.
bool in_guest() {
    const char* v = std::getenv("PERFBPF_IN_GUEST");
    return v && std::string(v) == "1";
}

// Sets a host-wide sysctl for the life of the object (the guest's), and restores it.
class GuestSysctl {
  public:
    GuestSysctl(std::string path, const std::string& value) : path_(std::move(path)) {
        old_ = read_file(path_).value_or("");
        ok_ = !old_.empty() && write_file(path_, value).has_value();
    }
    ~GuestSysctl() {
        if (ok_) (void)write_file(path_, old_);
    }
    bool ok() const { return ok_; }

  private:
    std::string path_, old_;
    bool ok_ = false;
};

TEST(InGuest, ProtocolMemoryLimitsCountInTheSocketsNamespace) {
    PERFBPF_REQUIRE_ROOT();
    if (!in_guest()) FAIL() << "changes net.ipv4.udp_mem: run it in the guest (scripts/vmtest.sh)";
    std::string error;
    auto net = NetnsPair::create(&error);
    ASSERT_TRUE(net) << error;
    auto collector = test::family_collector({"sched", "net"}, 500'000'000);
    ASSERT_TRUE(collector);
    collector->next();
    // All of UDP may hold 1 page: B's receiver, whose own buffer is large, soon exceeds it.
    GuestSysctl udp_mem("/proc/sys/net/ipv4/udp_mem", "1 1 1");
    ASSERT_TRUE(udp_mem.ok());
    constexpr uint16_t kPort = 9000;
    auto receiver = in_netns(net->b(), [] {
        UniqueFd fd(::socket(AF_INET, SOCK_DGRAM, 0));
        int big = 8 << 20;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
        sockaddr_in sa = ipv4("10.204.1.2", kPort);
        if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return 1;
        ::sleep(2);  // never reads
        return 0;
    });
    ASSERT_TRUE(receiver) << receiver.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    constexpr int kDatagrams = 500;
    auto sender = in_netns(net->a(), [] {
        UniqueFd fd(::socket(AF_INET, SOCK_DGRAM, 0));
        sockaddr_in sa = ipv4("10.204.1.2", kPort);
        char buf[1000] = {};
        for (int i = 0; i < kDatagrams; ++i)
            ::sendto(fd.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
        return 0;
    });
    ASSERT_TRUE(sender) << sender.error().message;
    auto [a, b] = collect(*collector, *net, {&*receiver, &*sender});
    // The kernel's own count of them in B: Udp MemErrors.
    uint64_t mem_errors = 0;
    {
        std::istringstream in(run_command(in_netns(net->b(), "cat /proc/net/snmp")));
        std::string names, values, line;
        while (std::getline(in, line))
            if (line.starts_with("Udp: ")) (names.empty() ? names : values) = line;
        auto m = parse_netstat(names + "\n" + values + "\n");
        mem_errors = m["Udp:MemErrors"];
    }
    std::printf("[measured] B: mem_limit_recv %llu (kernel MemErrors %llu), send %llu; A: %llu\n",
                (unsigned long long)b.sum.mem_limit_recv, (unsigned long long)mem_errors,
                (unsigned long long)b.sum.mem_limit_send, (unsigned long long)a.sum.mem_limit_recv);
    ASSERT_GT(mem_errors, 0u) << "udp_mem was never exceeded; the setup is wrong";
    // Each datagram UDP had no memory for, counted in the receiver's namespace.
    EXPECT_EQ(b.sum.mem_limit_recv, mem_errors);
    EXPECT_EQ(b.sum.mem_limit_send, 0u);
    EXPECT_EQ(a.sum.mem_limit_recv, 0u);
}

}  // namespace
}  // namespace perfbpf
