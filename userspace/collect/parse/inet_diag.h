// The kernel's TCP sockets as sock_diag (NETLINK_SOCK_DIAG, inet_diag) lists them with their
// struct tcp_info: the request and the parse of its replies. Pure (no sockets), so unit
// tests feed built messages; collect/tcp_info_reader sends and receives.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "util/result.h"

namespace perfbpf {

// One TCP socket. Addresses are IPv6 (IPv4 as ::ffff:a.b.c.d, as a dual-stack socket sees
// its IPv4 peer), so the two ends of a connection match whatever their families.
struct TcpFlow {
    uint64_t cookie = 0;  // the socket's cookie: unique per boot, across namespaces
    std::array<uint8_t, 16> local{}, remote{};
    uint16_t local_port = 0, remote_port = 0;
    // tcp_info's "chrono" counters (4.10 and later; false on older kernels), µs since the
    // socket opened: time with data to send, and of that the time the peer's receive window
    // or this socket's send buffer stopped it (tcpi_busy_time counts all three).
    bool has_chrono = false;
    uint64_t busy_us = 0, rwnd_limited_us = 0, sndbuf_limited_us = 0;
    // Bytes the peer acknowledged since the socket opened (tcpi_bytes_acked): data moved,
    // counted to the byte where the chrono counters tick in jiffies.
    uint64_t bytes_acked = 0;
};

// A dump request of the TCP sockets of `family` (AF_INET, AF_INET6) in the states that move
// data (ESTABLISHED, the FIN and CLOSE states), each with its tcp_info.
std::vector<uint8_t> inet_diag_request(uint8_t family, uint32_t seq);

// Whether a dump can find a socket that moves data: `established` (Tcp CurrEstab: the
// ESTABLISHED and CLOSE_WAIT connections) is not 0, or the last dump found some (one that
// closed since may be in FIN_WAIT1 or LAST_ACK, which CurrEstab does not count, still
// sending what was queued). A count that could not be read dumps.
bool tcp_dump_needed(std::optional<uint64_t> established, bool last_dump_had_flows);

// One datagram of the dump's replies: appends its sockets to `out`; true once the dump's
// end (NLMSG_DONE) is in it; fails on an error message.
Result<bool> parse_inet_diag(std::span<const uint8_t> datagram, std::vector<TcpFlow>& out);

}  // namespace perfbpf
