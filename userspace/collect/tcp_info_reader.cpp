#include "collect/tcp_info_reader.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string_view>

#include "collect/parse/procfs.h"

namespace perfbpf {
namespace {

Result<void> dump_family(int fd, uint8_t family, uint32_t seq, std::vector<TcpFlow>& out) {
    const std::vector<uint8_t> req = inet_diag_request(family, seq);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof(kernel)) < 0)
        return fail_errno("sock_diag request", errno);
    // Replies fill datagrams of up to a page or so each; 64 KiB holds any of them.
    static thread_local std::vector<uint8_t> buf(64 * 1024);
    for (;;) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("sock_diag reply", errno);
        }
        if (n == 0) return fail("sock_diag reply: the socket closed");
        auto done = parse_inet_diag({buf.data(), size_t(n)}, out);
        if (!done) return std::unexpected(done.error());
        if (*done) return {};
    }
}

// An open /proc/net file's text, read afresh from its start (a seq_file regenerates its
// text on a read at offset 0); nullopt when it cannot be read or does not fit in `buf`.
template <size_t N>
std::optional<std::string_view> reread(const UniqueFd& fd, char (&buf)[N]) {
    if (!fd.valid()) return std::nullopt;
    const ssize_t n = ::pread(fd.get(), buf, N, 0);
    if (n <= 0 || size_t(n) == N) return std::nullopt;
    return std::string_view(buf, size_t(n));
}

// The "inuse" count of `protocol` in an open sockstat file.
std::optional<uint64_t> sockets_in_use(const UniqueFd& fd, std::string_view protocol) {
    char buf[4096];
    auto text = reread(fd, buf);
    if (!text) return std::nullopt;
    return parse_sockstat_inuse(*text, protocol);
}

}  // namespace

Result<TcpDiag> open_tcp_diag() {
    auto diag = open_sock_diag();
    if (!diag) return std::unexpected(diag.error());
    TcpDiag d;
    d.diag = std::move(*diag);
    // thread-self: the namespace of this thread, which may have joined another with setns.
    d.sockstat = UniqueFd(::open("/proc/thread-self/net/sockstat", O_RDONLY | O_CLOEXEC));
    d.sockstat6 = UniqueFd(::open("/proc/thread-self/net/sockstat6", O_RDONLY | O_CLOEXEC));
    d.snmp = UniqueFd(::open("/proc/thread-self/net/snmp", O_RDONLY | O_CLOEXEC));
    return d;
}

Result<UniqueFd> open_sock_diag() {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (!fd.valid()) return fail_errno("sock_diag socket", errno);
    // A dump answers at once; a wait past this is a kernel that will not answer.
    timeval timeout{.tv_sec = 1, .tv_usec = 0};
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0)
        return fail_errno("sock_diag socket: SO_RCVTIMEO", errno);
    return fd;
}

std::optional<uint64_t> tcp_in_use(const TcpDiag& d, uint8_t family) {
    if (family == AF_INET) return sockets_in_use(d.sockstat, "TCP");
    if (family == AF_INET6) return sockets_in_use(d.sockstat6, "TCP6");
    return std::nullopt;
}

std::optional<uint64_t> tcp_established(const TcpDiag& d) {
    char buf[16384];  // IcmpMsg grows with the message types seen: ≈1.5 KB is usual
    auto text = reread(d.snmp, buf);
    if (!text) return std::nullopt;
    constexpr std::string_view kCurrEstab[] = {"Tcp:CurrEstab"};
    const auto counters = parse_netstat(*text, kCurrEstab);
    const auto it = counters.find("Tcp:CurrEstab");
    if (it == counters.end()) return std::nullopt;
    return it->second;
}

Result<std::vector<TcpFlow>> dump_tcp_flows(TcpDiag& d) {
    std::vector<TcpFlow> out;
    if (!tcp_dump_needed(tcp_established(d), d.last_dump_had_flows)) return out;
    ++d.dumps;
    static uint32_t seq = 0;
    for (uint8_t family : {uint8_t(AF_INET), uint8_t(AF_INET6)}) {
        if (tcp_in_use(d, family) == 0u) continue;
        if (auto r = dump_family(d.diag.get(), family, ++seq, out); !r)
            return std::unexpected(r.error());
    }
    d.last_dump_had_flows = !out.empty();
    return out;
}

}  // namespace perfbpf
