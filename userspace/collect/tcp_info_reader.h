// TCP sockets and their tcp_info through sock_diag (NETLINK_SOCK_DIAG): one dump per
// family. A netlink socket lists the sockets of the network namespace it was created in,
// so collect/netns_source opens one per namespace (util/netns.h) and keeps it.
//
// Cost: the kernel fills a tcp_info (about 250 bytes) for every connection in each dump;
// a dump of 10,000 connections is a few MB of replies per interval and namespace.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "collect/parse/inet_diag.h"
#include "util/fd.h"
#include "util/result.h"

namespace perfbpf {

// A namespace's sock_diag socket and its own socket counts (/proc/net/sockstat, sockstat6
// and snmp, opened in it, so they keep counting that namespace). Every dump walks the
// kernel's whole TCP established hash, whatever the namespace holds (262,144 buckets on a
// 24 GiB machine, ≈1 ms a dump on the 2-vCPU VM of docs/daemon_cost.md; child namespaces
// share that table, so each pays the whole walk), so a family the counts say is empty is
// not dumped, nor a namespace whose sockets only listen.
struct TcpDiag {
    UniqueFd diag;
    UniqueFd sockstat, sockstat6;     // invalid where missing (sockstat6 without IPv6)
    UniqueFd snmp;                    // its Tcp CurrEstab
    bool last_dump_had_flows = true;  // so that the first call dumps
    uint64_t dumps = 0;               // calls that walked the kernel's table
};

// A sock_diag socket of the calling thread's network namespace.
Result<UniqueFd> open_sock_diag();
// open_sock_diag() and the counts, in the calling thread's network namespace.
Result<TcpDiag> open_tcp_diag();

// The TCP sockets of `family` (AF_INET, AF_INET6) in `d`'s namespace as its sockstat counts
// them now (listening ones included); nullopt when it cannot be read.
std::optional<uint64_t> tcp_in_use(const TcpDiag& d, uint8_t family);

// The namespace's connections in ESTABLISHED or CLOSE_WAIT (Tcp CurrEstab, both families);
// nullopt when it cannot be read.
std::optional<uint64_t> tcp_established(const TcpDiag& d);

// The IPv4 and IPv6 TCP sockets of `d`'s namespace that can move data. Nothing is dumped
// when tcp_dump_needed says no; a family whose count reads 0 is not dumped; one whose count
// cannot be read is.
Result<std::vector<TcpFlow>> dump_tcp_flows(TcpDiag& d);

}  // namespace perfbpf
