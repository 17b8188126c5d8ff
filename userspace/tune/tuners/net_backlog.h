// net-backlog: queue limits of the network stack, raised where packets or connections are
// dropped because a queue was full.
//
// Input backlog (net.core.netdev_max_backlog, host-wide: proposed only when the scope filter
// allows the host). Evidence: packets dropped because a CPU's input backlog was full, over
// the window: /proc/net/softnet_stat's dropped column (SystemSample::softnet_backlog_drops)
// and skb:kfree_skb drops with reason CPU_BACKLOG summed over namespaces (both count the
// same drops; the larger is used). At min_backlog_drops_per_s or more: raise it (x
// step_factor, up to backlog_ceiling). Target: those drops per second (lower); guard: all
// packet drops per second on the host (a larger queue that only moves the drops to the
// socket leaves them as they were; one that adds drops is reverted).
//
// Accept queue (net.core.somaxconn, per network namespace: the host's own value for the
// initial namespace, else the named namespace's). Evidence: TcpExt ListenOverflows of the
// namespace (connections the accept queue had no room for). At min_listen_overflows_per_s
// or more: raise it. somaxconn caps the backlog a listener asks for, when it calls listen():
// only listeners that asked for more than somaxconn, and that call listen() again or start
// after the change, gain. The snapshot cannot tell which listeners those are, so the target
// decides: a change after which the overflows do not fall is reverted (and backed off).
// Target: listen overflows per second in the namespace (lower); guard: TCP bytes moved per
// second in the namespace (higher; must not fall).
//
// SYN queue (net.ipv4.tcp_max_syn_backlog, per namespace). Evidence: SYNs dropped with the
// request queue full (TCPReqQFullDrop) plus SYN cookies sent, at min_syn_drops_per_s or more:
// raise it. The kernel sizes the request queue by the listener's backlog too, and
// tcp_max_syn_backlog bites only with syncookies off; the target (those drops per second)
// reverts a raise that did not help. Guard: TCP bytes per second in the namespace.
//
// Dead band: below each minimum rate nothing is proposed, and the rates are means over the
// whole window (min_intervals at least), so a single burst does not raise anything. Nothing
// is ever lowered: a limit that is larger than needed costs only memory when queues fill,
// and lowering on quiet would undo the raise at the next quiet spell (flip-flop).
#pragma once

#include <cstdint>
#include <memory>

#include "tune/tuner.h"

namespace perfbpf::tune {

struct NetBacklogConfig {
    size_t min_intervals = 3;               // snapshots in the window, to judge a rate
    double min_backlog_drops_per_s = 10;    // input backlog drops, host-wide
    double min_listen_overflows_per_s = 2;  // per namespace
    double min_syn_drops_per_s = 5;         // per namespace: request-queue drops + cookies
    double step_factor = 4;
    int64_t backlog_ceiling = 65536;  // netdev_max_backlog
    int64_t somaxconn_ceiling = 65535;
    int64_t syn_backlog_ceiling = 65536;
};

std::unique_ptr<Tuner> make_net_backlog_tuner(NetBacklogConfig config = {});

}  // namespace perfbpf::tune
