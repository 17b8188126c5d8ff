#include "collect/parse/inet_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>

namespace perfbpf {
namespace {

// linux/tcp.h's TCP_ESTABLISHED ... are not exported to user space as an enum everywhere;
// the numbers are the kernel's (include/net/tcp_states.h), fixed ABI.
constexpr uint32_t kEstablished = 1, kFinWait1 = 4, kFinWait2 = 5, kCloseWait = 8, kLastAck = 9,
                   kClosing = 11;

std::array<uint8_t, 16> address(uint8_t family, const __be32 words[4]) {
    std::array<uint8_t, 16> a{};
    if (family == AF_INET) {
        a[10] = a[11] = 0xff;
        std::memcpy(a.data() + 12, &words[0], 4);
    } else {
        std::memcpy(a.data(), words, 16);
    }
    return a;
}

void read_tcp_info(const rtattr* attr, TcpFlow& flow) {
    const size_t len = RTA_PAYLOAD(attr);
    tcp_info info{};
    std::memcpy(&info, RTA_DATA(attr), std::min(len, sizeof(info)));
    // An older kernel's tcp_info is shorter: the chrono counters end at tcpi_sndbuf_limited.
    if (len < offsetof(tcp_info, tcpi_sndbuf_limited) + sizeof(info.tcpi_sndbuf_limited)) return;
    flow.has_chrono = true;
    flow.busy_us = info.tcpi_busy_time;
    flow.rwnd_limited_us = info.tcpi_rwnd_limited;
    flow.sndbuf_limited_us = info.tcpi_sndbuf_limited;
    flow.bytes_acked = info.tcpi_bytes_acked;
}

}  // namespace

std::vector<uint8_t> inet_diag_request(uint8_t family, uint32_t seq) {
    struct {
        nlmsghdr nlh;
        inet_diag_req_v2 req;
    } msg{};
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.nlh.nlmsg_seq = seq;
    msg.req.sdiag_family = family;
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_ext = 1u << (INET_DIAG_INFO - 1);
    msg.req.idiag_states = (1u << kEstablished) | (1u << kFinWait1) | (1u << kFinWait2) |
                           (1u << kCloseWait) | (1u << kLastAck) | (1u << kClosing);
    std::vector<uint8_t> out(sizeof(msg));
    std::memcpy(out.data(), &msg, sizeof(msg));
    return out;
}

bool tcp_dump_needed(std::optional<uint64_t> established, bool last_dump_had_flows) {
    return last_dump_had_flows || established != 0u;
}

// NLMSG_OK compares the header's __u32 length with the int length it needs (an unsigned
// length would wrap past the end in NLMSG_NEXT on a short last message): clang's
// -Wsign-compare flags the macro itself.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
Result<bool> parse_inet_diag(std::span<const uint8_t> datagram, std::vector<TcpFlow>& out) {
    // NLMSG_NEXT and friends take a mutable header and an int length.
    auto* nlh = reinterpret_cast<nlmsghdr*>(const_cast<uint8_t*>(datagram.data()));
    int left = static_cast<int>(datagram.size());
    for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left)) {
        if (nlh->nlmsg_type == NLMSG_DONE) return true;
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
                return fail("sock_diag: truncated error message");
            const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
            return fail_errno("sock_diag dump of TCP sockets", -err->error);
        }
        if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
            nlh->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg)))
            continue;
        const auto* msg = static_cast<const inet_diag_msg*>(NLMSG_DATA(nlh));
        TcpFlow flow;
        flow.cookie = uint64_t(msg->id.idiag_cookie[0]) | uint64_t(msg->id.idiag_cookie[1]) << 32;
        flow.local = address(msg->idiag_family, msg->id.idiag_src);
        flow.remote = address(msg->idiag_family, msg->id.idiag_dst);
        flow.local_port = ntohs(msg->id.idiag_sport);
        flow.remote_port = ntohs(msg->id.idiag_dport);
        int attr_left = static_cast<int>(nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*msg)));
        for (auto* attr = reinterpret_cast<rtattr*>(const_cast<inet_diag_msg*>(msg) + 1);
             RTA_OK(attr, attr_left); attr = RTA_NEXT(attr, attr_left)) {
            if (attr->rta_type == INET_DIAG_INFO) read_tcp_info(attr, flow);
        }
        out.push_back(flow);
    }
    return false;
}
#pragma GCC diagnostic pop

}  // namespace perfbpf
