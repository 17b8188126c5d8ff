#include "collect/tcp_info_reader.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>

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

}  // namespace

Result<UniqueFd> open_sock_diag() {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (!fd.valid()) return fail_errno("sock_diag socket", errno);
    // A dump answers at once; a wait past this is a kernel that will not answer.
    timeval timeout{.tv_sec = 1, .tv_usec = 0};
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0)
        return fail_errno("sock_diag socket: SO_RCVTIMEO", errno);
    return fd;
}

Result<std::vector<TcpFlow>> dump_tcp_flows(int fd) {
    std::vector<TcpFlow> out;
    static uint32_t seq = 0;
    for (uint8_t family : {uint8_t(AF_INET), uint8_t(AF_INET6)}) {
        if (auto r = dump_family(fd, family, ++seq, out); !r) return std::unexpected(r.error());
    }
    return out;
}

}  // namespace perfbpf
