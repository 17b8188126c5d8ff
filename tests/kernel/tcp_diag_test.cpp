// collect/tcp_info_reader's per-namespace socket counts, in a network namespace of the
// test's own (a thread that unshares it; gone with its last socket): the counts that decide
// whether a family is dumped are the namespace's they were opened in, not the reader's, so
// a namespace with sockets is never skipped for an empty one or the other way round.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

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
    const TcpDiag& d = **opened;
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

}  // namespace
}  // namespace perfbpf
