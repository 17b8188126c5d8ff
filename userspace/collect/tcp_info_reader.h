// TCP sockets and their tcp_info through sock_diag (NETLINK_SOCK_DIAG): one dump per
// family. A netlink socket lists the sockets of the network namespace it was created in,
// so collect/netns_source opens one per namespace (util/netns.h) and keeps it.
//
// Cost: the kernel fills a tcp_info (about 250 bytes) for every connection in each dump;
// a dump of 10,000 connections is a few MB of replies per interval and namespace.
#pragma once

#include <vector>

#include "collect/parse/inet_diag.h"
#include "util/fd.h"
#include "util/result.h"

namespace perfbpf {

// A sock_diag socket of the calling thread's network namespace.
Result<UniqueFd> open_sock_diag();

// The IPv4 and IPv6 TCP sockets of `fd`'s namespace that can move data.
Result<std::vector<TcpFlow>> dump_tcp_flows(int fd);

}  // namespace perfbpf
