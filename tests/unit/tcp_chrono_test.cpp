// sock_diag replies parsed (collect/parse/inet_diag) and tcp_info's chrono counters turned
// into per-namespace amounts (collect/parse/tcp_chrono), on messages built as the kernel
// lays them out.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>

#include <cerrno>
#include <cstring>

#include "collect/parse/inet_diag.h"
#include "collect/parse/tcp_chrono.h"

namespace perfbpf {
namespace {

struct Sock {
    uint8_t family = AF_INET;
    const char* local = "10.0.0.1";
    uint16_t local_port = 0;
    const char* remote = "10.0.0.2";
    uint16_t remote_port = 0;
    uint64_t cookie = 0;
    uint64_t busy_us = 0, rwnd_us = 0, sndbuf_us = 0, acked = 0;
    size_t info_len = sizeof(tcp_info);  // shorter: an older kernel's tcp_info
};

void append(std::vector<uint8_t>& out, const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
    out.resize(NLMSG_ALIGN(out.size()));
}

void add_sock(std::vector<uint8_t>& out, const Sock& s) {
    inet_diag_msg msg{};
    msg.idiag_family = s.family;
    msg.idiag_state = 1;
    msg.id.idiag_sport = htons(s.local_port);
    msg.id.idiag_dport = htons(s.remote_port);
    inet_pton(s.family, s.local, msg.id.idiag_src);
    inet_pton(s.family, s.remote, msg.id.idiag_dst);
    msg.id.idiag_cookie[0] = uint32_t(s.cookie);
    msg.id.idiag_cookie[1] = uint32_t(s.cookie >> 32);
    tcp_info info{};
    info.tcpi_busy_time = s.busy_us;
    info.tcpi_rwnd_limited = s.rwnd_us;
    info.tcpi_sndbuf_limited = s.sndbuf_us;
    info.tcpi_bytes_acked = s.acked;
    rtattr attr{};
    attr.rta_type = INET_DIAG_INFO;
    attr.rta_len = RTA_LENGTH(s.info_len);
    nlmsghdr nlh{};
    nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    nlh.nlmsg_len = NLMSG_LENGTH(sizeof(msg)) + RTA_SPACE(s.info_len);
    append(out, &nlh, sizeof(nlh));
    append(out, &msg, sizeof(msg));
    const size_t at = out.size();
    out.insert(out.end(), reinterpret_cast<uint8_t*>(&attr),
               reinterpret_cast<uint8_t*>(&attr) + sizeof(attr));
    out.insert(out.end(), reinterpret_cast<uint8_t*>(&info),
               reinterpret_cast<uint8_t*>(&info) + s.info_len);
    out.resize(at + RTA_SPACE(s.info_len));
}

void add_done(std::vector<uint8_t>& out) {
    nlmsghdr nlh{};
    nlh.nlmsg_type = NLMSG_DONE;
    nlh.nlmsg_len = NLMSG_LENGTH(sizeof(int));
    append(out, &nlh, sizeof(nlh));
    const int zero = 0;
    append(out, &zero, sizeof(zero));
}

std::vector<TcpFlow> parse(const std::vector<uint8_t>& buf, bool expect_done = true) {
    std::vector<TcpFlow> out;
    auto done = parse_inet_diag(buf, out);
    EXPECT_TRUE(done) << (done ? "" : done.error().message);
    if (done) {
        EXPECT_EQ(*done, expect_done);
    }
    return out;
}

TEST(InetDiag, ParsesSocketsAndTheirChronoCounters) {
    std::vector<uint8_t> buf;
    add_sock(buf, {.local_port = 40000,
                   .remote_port = 5201,
                   .cookie = 0x100000002ull,
                   .busy_us = 3'000'000,
                   .rwnd_us = 2'500'000,
                   .sndbuf_us = 100,
                   .acked = 123'456'789});
    add_sock(buf, {.family = AF_INET6,
                   .local = "::ffff:10.0.0.2",
                   .local_port = 5201,
                   .remote = "::ffff:10.0.0.1",
                   .remote_port = 40000,
                   .cookie = 7});
    auto flows = parse(buf, false);
    ASSERT_EQ(flows.size(), 2u);
    EXPECT_EQ(flows[0].cookie, 0x100000002ull);
    EXPECT_EQ(flows[0].local_port, 40000);
    EXPECT_EQ(flows[0].remote_port, 5201);
    EXPECT_TRUE(flows[0].has_chrono);
    EXPECT_EQ(flows[0].busy_us, 3'000'000u);
    EXPECT_EQ(flows[0].rwnd_limited_us, 2'500'000u);
    EXPECT_EQ(flows[0].sndbuf_limited_us, 100u);
    EXPECT_EQ(flows[0].bytes_acked, 123'456'789u);
    // An IPv4 socket's addresses read as the IPv4-mapped ones a dual-stack peer shows.
    EXPECT_EQ(flows[0].local, flows[1].remote);
    EXPECT_EQ(flows[0].remote, flows[1].local);
    buf.clear();
    add_done(buf);
    EXPECT_TRUE(parse(buf).empty());
}

TEST(InetDiag, AnOlderKernelsShortTcpInfoHasNoChrono) {
    std::vector<uint8_t> buf;
    add_sock(buf, {.cookie = 1, .busy_us = 5, .info_len = offsetof(tcp_info, tcpi_busy_time)});
    add_done(buf);
    auto flows = parse(buf);
    ASSERT_EQ(flows.size(), 1u);
    EXPECT_FALSE(flows[0].has_chrono);
    EXPECT_EQ(flows[0].busy_us, 0u);
}

TEST(InetDiag, AnErrorReplyFailsWithItsErrno) {
    std::vector<uint8_t> buf;
    nlmsghdr nlh{};
    nlh.nlmsg_type = NLMSG_ERROR;
    nlh.nlmsg_len = NLMSG_LENGTH(sizeof(nlmsgerr));
    nlmsgerr err{};
    err.error = -EPERM;
    append(buf, &nlh, sizeof(nlh));
    append(buf, &err, sizeof(err));
    std::vector<TcpFlow> out;
    auto r = parse_inet_diag(buf, out);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("sock_diag"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(strerror(EPERM)), std::string::npos) << r.error().message;
}

TEST(InetDiag, ANamespaceWhoseSocketsOnlyListenIsNotDumped) {
    EXPECT_FALSE(tcp_dump_needed(0u, false));
    EXPECT_TRUE(tcp_dump_needed(2u, false));
    // The dump after the last connection closed still looks for ones finishing their sends.
    EXPECT_TRUE(tcp_dump_needed(0u, true));
    EXPECT_TRUE(tcp_dump_needed(std::nullopt, false));
}

TEST(InetDiag, RequestAsksForTcpInfoOfTcpSockets) {
    auto req = inet_diag_request(AF_INET6, 9);
    ASSERT_EQ(req.size(), sizeof(nlmsghdr) + sizeof(inet_diag_req_v2));
    nlmsghdr nlh;
    inet_diag_req_v2 r;
    std::memcpy(&nlh, req.data(), sizeof(nlh));
    std::memcpy(&r, req.data() + sizeof(nlh), sizeof(r));
    EXPECT_EQ(nlh.nlmsg_len, req.size());
    EXPECT_EQ(nlh.nlmsg_type, SOCK_DIAG_BY_FAMILY);
    EXPECT_EQ(nlh.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    EXPECT_EQ(nlh.nlmsg_seq, 9u);
    EXPECT_EQ(r.sdiag_family, AF_INET6);
    EXPECT_EQ(r.sdiag_protocol, IPPROTO_TCP);
    EXPECT_EQ(r.idiag_ext, 1u << (INET_DIAG_INFO - 1));
    EXPECT_TRUE(r.idiag_states & (1u << 1));    // ESTABLISHED
    EXPECT_FALSE(r.idiag_states & (1u << 10));  // LISTEN
    EXPECT_FALSE(r.idiag_states & (1u << 6));   // TIME_WAIT
}

// Flows as parsed: a sender in namespace 1 (10.0.0.1:40000) into a receiver in namespace 2.
TcpFlow flow(uint64_t cookie, bool sender, uint64_t busy, uint64_t rwnd, uint64_t sndbuf = 0,
             uint64_t acked = 0) {
    std::vector<uint8_t> buf;
    Sock s{.local_port = 40000,
           .remote_port = 5201,
           .cookie = cookie,
           .busy_us = busy,
           .rwnd_us = rwnd,
           .sndbuf_us = sndbuf,
           .acked = acked};
    if (!sender) {
        std::swap(s.local, s.remote);
        std::swap(s.local_port, s.remote_port);
    }
    add_sock(buf, s);
    auto flows = parse(buf, false);
    return flows.at(0);
}

TEST(TcpChronoDeltas, SendersAmountsGoToTheirNamespaceAndTheirPeers) {
    TcpChronoDeltas d;
    // The first sweep of each namespace is its baseline.
    auto first =
        d.add_sweep({{1, {flow(10, true, 5'000'000, 4'000'000)}}, {2, {flow(11, false, 0, 0)}}}, 0);
    EXPECT_EQ(first[1].own.busy_us, 0u);
    EXPECT_EQ(first[2].peers.busy_us, 0u);
    // One second later: 0.9 s busy, 0.8 s of it waiting for the receiver's window.
    auto second = d.add_sweep(
        {{1, {flow(10, true, 5'900'000, 4'800'000)}}, {2, {flow(11, false, 0, 0)}}}, 1'000'000);
    EXPECT_EQ(second[1].own.send_us, 1'000'000u);
    EXPECT_EQ(second[1].own.busy_us, 900'000u);
    EXPECT_EQ(second[1].own.rwnd_limited_us, 800'000u);
    EXPECT_EQ(second[1].peers.send_us, 0u);  // the receiver sends nothing back
    EXPECT_EQ(second[2].own.send_us, 0u);
    EXPECT_EQ(second[2].peers.send_us, 1'000'000u);
    EXPECT_EQ(second[2].peers.busy_us, 900'000u);
    EXPECT_EQ(second[2].peers.rwnd_limited_us, 800'000u);
    NetnsSample n;
    apply_tcp_chrono(second[2], n);
    EXPECT_TRUE(n.tcp_info_available);
    EXPECT_EQ(n.tcp_peer_rwnd_limited_us, 800'000u);
    EXPECT_EQ(n.tcp_peer_send_us, 1'000'000u);
}

TEST(TcpChronoDeltas, NewSocketsCountFromZeroIdleOnesNotAtAll) {
    TcpChronoDeltas d;
    d.add_sweep({{1, {flow(10, true, 100, 0)}}}, 0);
    // Socket 10 idle (no busy time): no connection time either. Socket 12 opened within the
    // interval: all its counts are the interval's.
    auto r = d.add_sweep({{1, {flow(10, true, 100, 0), flow(12, true, 300'000, 0, 200'000)}}},
                         1'000'000);
    EXPECT_EQ(r[1].own.send_us, 1'000'000u);
    EXPECT_EQ(r[1].own.busy_us, 300'000u);
    EXPECT_EQ(r[1].own.sndbuf_limited_us, 200'000u);
    // A namespace first read now is a baseline even for its sockets.
    r = d.add_sweep({{1, {flow(12, true, 300'000, 0, 200'000)}}, {3, {flow(13, true, 9'000, 0)}}},
                    1'000'000);
    EXPECT_EQ(r[1].own.busy_us, 0u);
    EXPECT_EQ(r[3].own.busy_us, 0u);
}

TEST(TcpChronoDeltas, APacedSenderSendsInEveryIntervalItsBytesMoved) {
    // A paced sender: its bursts are shorter than a jiffy, so its busy time grows (by a
    // jiffy, 4 ms, with 4 ms of waiting for the window) in one interval of four, while the
    // peer acknowledges its bytes in all four. It sent for 4 s and waited 4 ms of them,
    // not 4 ms of 1 s.
    TcpChronoDeltas d;
    d.add_sweep({{1, {flow(10, true, 0, 0, 0, 1'000)}}}, 0);
    TcpChrono total;
    for (int i = 1; i <= 4; ++i) {
        const uint64_t busy = i >= 2 ? 4'000 : 0;
        auto r =
            d.add_sweep({{1, {flow(10, true, busy, busy, 0, 1'000 + i * 100'000)}}}, 1'000'000);
        total.send_us += r[1].own.send_us;
        total.rwnd_limited_us += r[1].own.rwnd_limited_us;
    }
    EXPECT_EQ(total.send_us, 4'000'000u);
    EXPECT_EQ(total.rwnd_limited_us, 4'000u);
    // Nothing moved, nothing waited: an idle connection sends in no interval.
    auto idle = d.add_sweep({{1, {flow(10, true, 4'000, 4'000, 0, 401'000)}}}, 1'000'000);
    EXPECT_EQ(idle[1].own.send_us, 0u);
}

TEST(TcpChronoDeltas, AmbiguousEndsFindNoPeer) {
    // The same addresses in two namespaces (two private networks alike): no peer is told.
    TcpChronoDeltas d;
    auto sweep = [](uint64_t busy) {
        return std::map<uint64_t, std::vector<TcpFlow>>{{1, {flow(10, true, busy, busy)}},
                                                        {4, {flow(20, true, busy, busy)}},
                                                        {2, {flow(11, false, 0, 0)}}};
    };
    d.add_sweep(sweep(0), 0);
    auto r = d.add_sweep(sweep(500'000), 1'000'000);
    EXPECT_EQ(r[1].own.busy_us, 500'000u);
    EXPECT_EQ(r[2].peers.send_us, 0u);
}

}  // namespace
}  // namespace perfbpf
