// collect/tcp_info_reader's per-namespace socket counts, in a network namespace of the
// test's own (a thread that unshares it; gone with its last socket): the counts that decide
// whether a family is dumped are the namespace's they were opened in, not the reader's, so
// a namespace with sockets is never skipped for an empty one or the other way round.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include <chrono>
#include <optional>
#include <thread>

#include "collect/tcp_info_reader.h"
#include "support.h"
#include "util/fd.h"

namespace perfbpf {
namespace {

// A listening IPv4 TCP socket on any port of the calling thread's namespace (a listener is
// hashed, so sockstat counts it; lo need not be up to bind the wildcard address).
UniqueFd listener() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
        ::listen(fd.get(), 1) != 0)
        return {};
    return fd;
}

TEST(TcpDiag, CountsTheNamespaceItWasOpenedIn) {
    PERFBPF_REQUIRE_ROOT();
    std::optional<Result<TcpDiag>> opened;
    UniqueFd inside;
    std::optional<uint64_t> empty_v4, empty_v6;
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) != 0) return;
        opened = open_tcp_diag();
        if (!*opened) return;
        empty_v4 = tcp_in_use(**opened, AF_INET);
        empty_v6 = tcp_in_use(**opened, AF_INET6);
        inside = listener();
    }).join();
    ASSERT_TRUE(opened.has_value()) << "unshare(CLONE_NEWNET) failed";
    ASSERT_TRUE(*opened) << opened->error().message;
    TcpDiag& d = **opened;
    ASSERT_TRUE(inside.valid());
    // A new namespace has no sockets; a family it has none of is not dumped.
    EXPECT_EQ(empty_v4, 0u);
    if (d.sockstat6.valid()) {
        EXPECT_EQ(empty_v6, 0u);
    }
    // Its one listener, read from this thread (the host's namespace), where another listens.
    UniqueFd host = listener();
    ASSERT_TRUE(host.valid());
    EXPECT_EQ(tcp_in_use(d, AF_INET), 1u);
    auto flows = dump_tcp_flows(d);
    ASSERT_TRUE(flows) << flows.error().message;
    EXPECT_TRUE(flows->empty());  // a listener moves no data
    inside = UniqueFd();
    EXPECT_EQ(tcp_in_use(d, AF_INET), 0u);
}

// The calling thread's namespace's loopback device up (a new namespace has it down).
bool loopback_up() {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (!s.valid() || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return false;
    ifr.ifr_flags |= IFF_UP;
    return ::ioctl(s.get(), SIOCSIFFLAGS, &ifr) == 0;
}

// A namespace whose one socket listens costs no walk of the kernel's table after its first
// dump; a connection made in it is dumped at the next call, and the call after it closed.
TEST(TcpDiag, ANamespaceWhoseSocketsOnlyListenIsNotDumped) {
    PERFBPF_REQUIRE_ROOT();
    std::optional<Result<TcpDiag>> opened;
    UniqueFd server, client;  // a socket keeps the namespace it was made in
    sockaddr_in addr{};
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) != 0 || !loopback_up()) return;
        opened = open_tcp_diag();
        server = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        client = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        if (::bind(server.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
            ::listen(server.get(), 1) != 0 ||
            ::getsockname(server.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            server = UniqueFd();
    }).join();
    ASSERT_TRUE(opened.has_value()) << "unshare(CLONE_NEWNET) or bringing lo up failed";
    ASSERT_TRUE(*opened) << opened->error().message;
    ASSERT_TRUE(server.valid() && client.valid());
    TcpDiag& d = **opened;
    EXPECT_EQ(tcp_established(d), 0u);
    ASSERT_TRUE(dump_tcp_flows(d));
    EXPECT_EQ(d.dumps, 1u);  // the first call dumps, and finds nothing
    ASSERT_TRUE(dump_tcp_flows(d));
    EXPECT_EQ(d.dumps, 1u);

    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    UniqueFd accepted(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(accepted.valid());
    EXPECT_EQ(tcp_established(d), 2u);
    auto flows = dump_tcp_flows(d);
    ASSERT_TRUE(flows) << flows.error().message;
    EXPECT_EQ(d.dumps, 2u);
    EXPECT_EQ(flows->size(), 2u);  // both ends

    client = UniqueFd();
    accepted = UniqueFd();
    ASSERT_TRUE(dump_tcp_flows(d));  // the call after the last connection closed
    EXPECT_EQ(d.dumps, 3u);
    // Then, once no socket is left in a state that sends (the last ACK may still be on its
    // way on a busy machine; the active closer's TIME_WAIT is not asked for), calls skip.
    bool skipped = false;
    for (int i = 0; i < 200 && !skipped; ++i) {
        const uint64_t before = d.dumps;
        ASSERT_TRUE(dump_tcp_flows(d));
        skipped = d.dumps == before;
        if (!skipped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(skipped);
}

}  // namespace
}  // namespace perfbpf
