// The net family against real TCP and UDP traffic: on loopback, and through network
// namespaces the tests create (and always remove).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "collect/collector.h"
#include "support.h"

namespace perfbpf {
namespace {

using test::Child;
using test::fixture;
using test::in_netns;
using test::run_command;

constexpr uint64_t kMiB = 1024 * 1024;

std::unique_ptr<Collector> net_collector(uint64_t interval_ns) {
    CollectorOptions o;
    o.interval_ns = interval_ns;
    o.families = {"sched", "net"};  // sched announces process exits
    auto c = Collector::create(o);
    EXPECT_TRUE(c) << c.error().message;
    return c ? std::move(*c) : nullptr;
}

struct NetTotals {
    uint64_t tx_bytes = 0, rx_bytes = 0, retransmits = 0;
    bool exited = false;
};

struct RunTotals {
    std::map<int, NetTotals> pids;
    SystemSample system;  // network fields summed over the intervals
};

void add_system(const SystemSample& s, SystemSample& sum) {
    sum.tcp_tx_bytes += s.tcp_tx_bytes;
    sum.tcp_rx_bytes += s.tcp_rx_bytes;
    sum.tcp_retransmits += s.tcp_retransmits;
    sum.tcp_retransmits_unattributed += s.tcp_retransmits_unattributed;
    sum.tcp_state_changes += s.tcp_state_changes;
    sum.tcp_resets += s.tcp_resets;
    for (const auto& [k, v] : s.tcp_states_entered) sum.tcp_states_entered[k] += v;
    for (const auto& [k, v] : s.packet_drops) sum.packet_drops[k] += v;
    sum.packet_drops_total += s.packet_drops_total;
    sum.tcp_rtt_samples += s.tcp_rtt_samples;
    sum.tcp_srtt_p99_us = std::max(sum.tcp_srtt_p99_us, s.tcp_srtt_p99_us);
}

// Collects intervals until every child has exited (then one more, which reports their
// exit), or the deadline passes; sums the children's network numbers.
RunTotals collect_until_exit(Collector& collector, std::vector<Child*> children,
                             std::chrono::seconds deadline = std::chrono::seconds(60)) {
    RunTotals t;
    for (Child* c : children) t.pids[c->pid()];
    auto end = std::chrono::steady_clock::now() + deadline;
    bool last = false;
    while (std::chrono::steady_clock::now() < end) {
        bool all_exited = true;
        for (Child* c : children) all_exited &= c->exited();
        Snapshot s = collector.next();
        for (const auto& p : s.processes) {
            auto it = t.pids.find(p.pid);
            if (it == t.pids.end()) continue;
            it->second.tx_bytes += p.tcp_tx_bytes;
            it->second.rx_bytes += p.tcp_rx_bytes;
            it->second.retransmits += p.tcp_retransmits;
            it->second.exited |= p.exited;
        }
        add_system(s.system, t.system);
        if (last) break;
        last = all_exited;
    }
    return t;
}

double rel_error(uint64_t measured, uint64_t expected) {
    return std::abs(static_cast<double>(measured) - static_cast<double>(expected)) /
           static_cast<double>(expected);
}

TEST(NetProbe, LoopbackTransferAttributedToSenderAndReceiver) {
    PERFBPF_REQUIRE_ROOT();
    const uint64_t bytes = 64 * kMiB;
    auto collector = net_collector(500'000'000);
    ASSERT_TRUE(collector);
    test::TempDir dir;
    const std::string port_file = dir.path() + "/port";
    Child rx = Child::spawn({fixture("tcp_pair"), "recv", port_file});
    int port = test::wait_for_port(port_file);
    ASSERT_GT(port, 0) << "receiver did not start";
    Child tx = Child::spawn(
        {fixture("tcp_pair"), "send", "127.0.0.1", std::to_string(port), std::to_string(bytes)});
    RunTotals t = collect_until_exit(*collector, {&rx, &tx});
    ASSERT_EQ(tx.wait(), 0);
    ASSERT_EQ(rx.wait(), 0);

    const NetTotals& s = t.pids[tx.pid()];
    const NetTotals& r = t.pids[rx.pid()];
    std::printf("[measured] sender tx %llu (error %.4f %%), receiver rx %llu (error %.4f %%)\n",
                static_cast<unsigned long long>(s.tx_bytes), 100 * rel_error(s.tx_bytes, bytes),
                static_cast<unsigned long long>(r.rx_bytes), 100 * rel_error(r.rx_bytes, bytes));
    EXPECT_LT(rel_error(s.tx_bytes, bytes), 0.05);
    EXPECT_LT(rel_error(r.rx_bytes, bytes), 0.05);
    // Each side did only its own half of the transfer.
    EXPECT_EQ(s.rx_bytes, 0u);
    EXPECT_EQ(r.tx_bytes, 0u);
    // Both exited during the run and were still reported.
    EXPECT_TRUE(s.exited);
    EXPECT_TRUE(r.exited);
    EXPECT_GE(t.system.tcp_tx_bytes, bytes);
    EXPECT_GE(t.system.tcp_rx_bytes, bytes);
    EXPECT_GE(t.system.tcp_states_entered["ESTABLISHED"], 2u);
    EXPECT_GT(t.system.tcp_rtt_samples, 0u);
    EXPECT_GT(t.system.tcp_srtt_p99_us, 0.0);
}

// The governor's shedding: tcp_probe keeps 1 in 16 segments. The same transfer with and
// without it: segment counts on loopback vary with timing (ACK coalescing) by well under
// 4x, so a kept share under a quarter can only come from the thinning.
TEST(NetProbe, TcpProbeKeepsOneInNWhenShedding) {
    PERFBPF_REQUIRE_ROOT();
    const uint64_t bytes = 64 * kMiB;
    auto transfer_rtt_samples = [&](uint32_t one_in) -> uint64_t {
        auto collector = net_collector(500'000'000);
        if (!collector) return 0;
        collector->keep_one_in(one_in);
        test::TempDir dir;
        const std::string port_file = dir.path() + "/port";
        Child rx = Child::spawn({fixture("tcp_pair"), "recv", port_file});
        int port = test::wait_for_port(port_file);
        EXPECT_GT(port, 0) << "receiver did not start";
        Child tx = Child::spawn({fixture("tcp_pair"), "send", "127.0.0.1", std::to_string(port),
                                 std::to_string(bytes)});
        RunTotals t = collect_until_exit(*collector, {&rx, &tx});
        EXPECT_EQ(tx.wait(), 0);
        EXPECT_EQ(rx.wait(), 0);
        EXPECT_GE(t.system.tcp_rx_bytes, bytes);  // the byte counts are never thinned
        return t.system.tcp_rtt_samples;
    };
    uint64_t all = transfer_rtt_samples(1);
    uint64_t thinned = transfer_rtt_samples(16);
    std::printf("[measured] tcp_probe RTT samples: %llu keeping all, %llu keeping 1 in 16\n",
                static_cast<unsigned long long>(all), static_cast<unsigned long long>(thinned));
    ASSERT_GT(all, 64u);
    EXPECT_GT(thinned, 0u);
    EXPECT_LT(static_cast<double>(thinned), static_cast<double>(all) / 4);
}

// Three namespaces, sender -> router -> receiver, with a token bucket on the router's link
// to the receiver whose queue is too short for TCP's bursts: packets are lost on the path
// (not at the sender's own qdisc, which TCP would see and retry without a retransmission).
// Destruction removes the namespaces and with them their links and qdiscs.
class RoutedNetns {
  public:
    static std::unique_ptr<RoutedNetns> create(std::string* error) {
        std::unique_ptr<RoutedNetns> n(new RoutedNetns());
        std::string base = "pbnet" + std::to_string(::getpid());
        n->sender_ = base + "s";
        n->router_ = base + "r";
        n->receiver_ = base + "d";
        const std::string &s = n->sender_, &r = n->router_, &d = n->receiver_;
        const std::vector<std::string> steps = {
            "ip netns add " + s,
            "ip netns add " + r,
            "ip netns add " + d,
            in_netns(s, "ip link add vs type veth peer name vrs netns " + r),
            in_netns(r, "ip link add vrd type veth peer name vd netns " + d),
            in_netns(s, "ip addr add 10.201.1.1/24 dev vs"),
            in_netns(r, "ip addr add 10.201.1.2/24 dev vrs"),
            in_netns(r, "ip addr add 10.201.2.1/24 dev vrd"),
            in_netns(d, "ip addr add 10.201.2.2/24 dev vd"),
            in_netns(s, "ip link set lo up"),
            in_netns(d, "ip link set lo up"),
            in_netns(s, "ip link set vs up"),
            in_netns(r, "ip link set vrs up"),
            in_netns(r, "ip link set vrd up"),
            in_netns(d, "ip link set vd up"),
            in_netns(s, "ip route add default via 10.201.1.2"),
            in_netns(d, "ip route add default via 10.201.2.1"),
            // Per-namespace setting of the router namespace only.
            in_netns(r, "sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'"),
            in_netns(r, "tc qdisc add dev vrd root tbf rate 200mbit burst 32kb limit 40kb"),
        };
        n->created_ = true;
        if (!test::run_steps(steps, error)) return nullptr;  // the destructor removes them
        return n;
    }
    ~RoutedNetns() {
        if (!created_) return;
        for (const auto& ns : {sender_, router_, receiver_})
            run_command("ip netns del " + ns + " 2>/dev/null");
    }
    RoutedNetns(const RoutedNetns&) = delete;
    RoutedNetns& operator=(const RoutedNetns&) = delete;

    const std::string& sender() const { return sender_; }
    const std::string& receiver() const { return receiver_; }
    static constexpr const char* kReceiverAddr = "10.201.2.2";

    // A "Tcp:" counter of /proc/net/snmp as seen inside namespace `ns`.
    static uint64_t tcp_mib(const std::string& ns, const std::string& field) {
        std::istringstream in(run_command(in_netns(ns, "cat /proc/net/snmp")));
        std::string header, values, line;
        while (std::getline(in, line)) {
            if (!line.starts_with("Tcp:")) continue;
            if (header.empty())
                header = line;
            else
                values = line;
        }
        std::istringstream h(header), v(values);
        std::string name, value;
        while (h >> name && v >> value)
            if (name == field) return std::stoull(value);
        return 0;
    }

  private:
    RoutedNetns() = default;
    std::string sender_, router_, receiver_;
    bool created_ = false;
};

TEST(NetProbe, RetransmitsOnALossyPathAttributedToSender) {
    PERFBPF_REQUIRE_ROOT();
    std::string error;
    auto net = RoutedNetns::create(&error);
    ASSERT_TRUE(net) << error;
    const uint64_t bytes = 32 * kMiB;
    auto collector = net_collector(500'000'000);
    ASSERT_TRUE(collector);
    auto retrans_segs = [&] { return RoutedNetns::tcp_mib(net->sender(), "RetransSegs"); };
    const uint64_t retrans_before = retrans_segs();
    test::TempDir dir;
    const std::string port_file = dir.path() + "/port";
    Child rx = Child::spawn({fixture("tcp_pair"), "-n", net->receiver(), "recv", port_file,
                             RoutedNetns::kReceiverAddr});
    int port = test::wait_for_port(port_file);
    ASSERT_GT(port, 0) << "receiver did not start";
    Child tx =
        Child::spawn({fixture("tcp_pair"), "-n", net->sender(), "send", RoutedNetns::kReceiverAddr,
                      std::to_string(port), std::to_string(bytes)});
    RunTotals t = collect_until_exit(*collector, {&rx, &tx});
    ASSERT_EQ(tx.wait(), 0);
    ASSERT_EQ(rx.wait(), 0);
    // Only the sender's connection lives in its namespace: the kernel's own count.
    const uint64_t kernel_retrans = retrans_segs() - retrans_before;

    const NetTotals& s = t.pids[tx.pid()];
    std::printf(
        "[measured] sender retransmits %llu, kernel RetransSegs in its namespace %llu, "
        "system %llu (unattributed %llu), drops %llu\n",
        static_cast<unsigned long long>(s.retransmits),
        static_cast<unsigned long long>(kernel_retrans),
        static_cast<unsigned long long>(t.system.tcp_retransmits),
        static_cast<unsigned long long>(t.system.tcp_retransmits_unattributed),
        static_cast<unsigned long long>(t.system.packet_drops_total));
    for (const auto& [reason, n] : t.system.packet_drops)
        std::printf("[measured]   drop %s %llu\n", reason.c_str(),
                    static_cast<unsigned long long>(n));
    ASSERT_GT(kernel_retrans, 0u) << "the path lost nothing; the test setup is not lossy";
    EXPECT_GT(s.retransmits, 0u);
    EXPECT_GE(t.system.tcp_retransmits, s.retransmits);
    // Segments, counted as the kernel counts them, all on the sender's socket.
    EXPECT_NEAR(static_cast<double>(s.retransmits), static_cast<double>(kernel_retrans),
                std::max(2.0, 0.05 * static_cast<double>(kernel_retrans)));
    EXPECT_LT(rel_error(s.tx_bytes, bytes), 0.05);
    EXPECT_LT(rel_error(t.pids[rx.pid()].rx_bytes, bytes), 0.05);
    // The router's queue overflowed: real drops, with a reason.
    EXPECT_GT(t.system.packet_drops_total, 0u);
}

uint16_t unused_udp_port() {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(fd);
    return ntohs(sa.sin_port);
}

RunTotals collect_intervals(Collector& collector, int n) {
    RunTotals t;
    for (int i = 0; i < n; ++i) add_system(collector.next().system, t.system);
    return t;
}

TEST(NetProbe, UdpToAClosedPortIsANoSocketDrop) {
    PERFBPF_REQUIRE_ROOT();
    auto collector = net_collector(500'000'000);
    ASSERT_TRUE(collector);
    const int datagrams = 200;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(unused_udp_port());
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    int sent = 0;
    for (int i = 0; i < datagrams; ++i)
        if (::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 1) ++sent;
    ::close(fd);
    ASSERT_EQ(sent, datagrams);
    RunTotals t = collect_intervals(*collector, 2);
    std::printf("[measured] NO_SOCKET drops %llu for %d datagrams\n",
                static_cast<unsigned long long>(t.system.packet_drops["NO_SOCKET"]), datagrams);
    // Named from the kernel's enum skb_drop_reason; other traffic may add more.
    EXPECT_GE(t.system.packet_drops["NO_SOCKET"], static_cast<uint64_t>(datagrams));
    EXPECT_GE(t.system.packet_drops_total, static_cast<uint64_t>(datagrams));
}

TEST(NetProbe, RefusedConnectIsAReset) {
    PERFBPF_REQUIRE_ROOT();
    auto collector = net_collector(500'000'000);
    ASSERT_TRUE(collector);
    const int attempts = 5;
    for (int i = 0; i < attempts; ++i) {
        // A port held by a bound TCP socket that does not listen: connect() gets a RST,
        // SYN_SENT -> CLOSE.
        int holder = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(sa);
        ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
        ::getsockname(holder, reinterpret_cast<sockaddr*>(&sa), &len);
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_NE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
        EXPECT_EQ(errno, ECONNREFUSED);
        ::close(fd);
        ::close(holder);
    }
    RunTotals t = collect_intervals(*collector, 2);
    EXPECT_GE(t.system.tcp_states_entered["SYN_SENT"], static_cast<uint64_t>(attempts));
    EXPECT_GE(t.system.tcp_resets, static_cast<uint64_t>(attempts));
}

TEST(NetProbe, TopJsonShowsTheTransfer) {
    PERFBPF_REQUIRE_ROOT();
    test::TempDir dir;
    const std::string port_file = dir.path() + "/port";
    Child rx = Child::spawn({fixture("tcp_pair"), "recv", port_file});
    int port = test::wait_for_port(port_file);
    ASSERT_GT(port, 0) << "receiver did not start";
    // Sends for longer than top needs to load and measure one interval.
    Child tx =
        Child::spawn({fixture("tcp_pair"), "send", "127.0.0.1", std::to_string(port), "0", "30"});
    int status = -1;
    std::string out = test::run_perfbpf("top --once --json --interval 1 2>/dev/null", &status);
    ASSERT_EQ(status, 0) << out;
    auto j = nlohmann::json::parse(out);
    uint64_t sent = 0, received = 0;
    for (const auto& p : j["processes"]) {
        if (p["pid"] == tx.pid()) sent = p["tcp_tx_bytes"];
        if (p["pid"] == rx.pid()) received = p["tcp_rx_bytes"];
    }
    std::printf("[measured] top: sender tcp_tx_bytes %llu, receiver tcp_rx_bytes %llu\n",
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received));
    EXPECT_GT(sent, kMiB);
    EXPECT_GT(received, kMiB);
    // One interval of one transfer: both ends moved about the same amount; the difference
    // is what sat in socket buffers at the interval's edges.
    EXPECT_NEAR(static_cast<double>(sent), static_cast<double>(received),
                0.2 * static_cast<double>(sent) + 16.0 * kMiB);
    // The system total covers this transfer. Not exactly: the per-process and per-CPU
    // maps are read a few microseconds apart, and the interval edges move with that.
    EXPECT_GE(j["system"]["tcp_tx_bytes"].get<double>(), 0.95 * static_cast<double>(sent));
}

}  // namespace
}  // namespace perfbpf
