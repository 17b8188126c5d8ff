// tcp-buffers: the largest TCP socket buffers autotuning may grow to (the third field of
// net.ipv4.tcp_rmem / tcp_wmem), raised per network namespace where connections sit at that
// limit, plus the host-wide net.core.rmem_max / wmem_max for the host.
//
// Where the knobs live. tcp_rmem and tcp_wmem exist in every network namespace, and a
// socket's autotuning reads its own namespace's copy: the initial namespace's for the host,
// the named one's for an `ip netns` namespace. net.core.rmem_max / wmem_max are one value
// for the whole machine (on 6.18 a namespace other than the initial one shows them read-only,
// on 6.1 not at all), so they are proposed only for the host. They cap what an application
// may ask for with SO_RCVBUF / SO_SNDBUF, not autotuning; one that is below the new TCP max
// is raised towards it so that applications sizing their buffers themselves may have as
// much as autotuned sockets.
//
// Receive side, per namespace, over the window (tcp:tcp_probe samples the namespace's
// sockets on incoming segments, net.bpf.c):
//  - the share of samples whose receive buffer was at the namespace's tcp_rmem max
//    (autotuned sockets only; rcvbuf_at_max_samples / tcp_samples), at least
//    min_at_max_share of at least min_samples samples, or
//  - tcp:tcp_rcvbuf_grow (6.18; 6.1 lacks it) firing for buffers already at that max,
//    min_grow_at_max_per_s or more: autotuning wanted a larger buffer and could not have it,
//  and the window limiting the flow: the senders into the namespace's sockets waited for
//  its receive window (tcp_info's tcpi_rwnd_limited, NetnsSample::tcp_peer_rwnd_limited_us)
//  min_limited_share or more of their connection time (at least min_send_s of it in the
//  window), and data arriving (min_bytes_per_s received): raise the max (x step_factor, up
//  to rmem_ceiling). A buffer at its max says only that autotuning grew it there: a sender
//  limited by its application (iperf3 -b, a paced stream) has data to send a small share of
//  its time, and a larger window would only make its bursts shorter. The kernel keeps that
//  account on the sender, so the rule sees senders on this machine only (loopback, veth
//  between namespaces, containers): a namespace whose data comes from other hosts gets no
//  receive-side raise. Not used: the place of sampled segments in the advertised window
//  (a window-limited sender's burst arrives within one tcp_probe sample per jiffy and CPU,
//  so behind netem delay the samples never saw the window's edge). Segments TCP dropped at
//  a full receive queue (TcpExt TCPRcvQDrop) and queue prunes are reported with the
//  evidence. Not used either: sock:sock_rcvqueue_full and SOCKET_RCVBUFF drops count
//  datagram and raw sockets, whose limit is SO_RCVBUF (rmem_default), not tcp_rmem.
// Send side: the share of samples whose send buffer was at the namespace's tcp_wmem max at
// least min_at_max_share, and the namespace's senders waiting for send buffer space
// (tcpi_sndbuf_limited: everything queued was in flight and the application wanted to write
// more, neither the peer's window nor the congestion window the limit) min_limited_share of
// their connection time (min_send_s at least), and data leaving (min_bytes_per_s sent):
// raise tcp_wmem's max.
// Veto: any entry into TCP memory pressure (TcpExt TCPMemoryPressures) or refused
// allocation (sock:sock_exceed_buf_limit) in the namespace in the window: protocol memory
// (tcp_mem) or a cgroup is the limit, and larger buffers would only press on it harder.
//
// Target: the namespace's TCP throughput (bytes sent + received per second, higher). A
// buffer limit shows as throughput on a path with a large bandwidth-delay product: the
// window a receiver advertises is a share of its buffer, so throughput is at most that
// window per round trip and grows with the max. The limit events themselves need not fall
// (autotuning grows buffers to the new max when the path wants more), so they cannot tell a
// raise that helped from one that did not. The gain shows on connections that grow their
// buffer after the raise: autotuning (tcp_rcv_space_adjust) grows a buffer only when a round
// trip delivers more than the one before, which a connection held steady by its window never
// does, so a long-lived one keeps its old buffer unless its rate moves for other reasons;
// new connections grow to the new max. Measured in the guest (tests/vm/tune_tcp_buffers.sh,
// 80 ms round trip, max 128 KiB -> 512 KiB): one long stream stayed at 0.76 MB/s in three
// runs of six (the change was reverted), back-to-back 3 s connections went from 0.63-0.74
// to 2.5-2.7 MB/s in the windows that verified it in each of three runs. Guard: segments
// retransmitted plus packets dropped in the namespace per MiB moved (lower): a larger window
// that only overflows a queue on the path is reverted.
//
// Dead band: below the shares and rates nothing is proposed, and they are means over the
// whole window (min_intervals at least). Nothing is ever lowered: a max costs memory only
// when a connection needs it, and lowering on quiet would undo a raise at the next quiet
// spell (flip-flop).
#pragma once

#include <cstdint>
#include <memory>

#include "tune/tuner.h"

namespace perfbpf::tune {

struct TcpBuffersConfig {
    size_t min_intervals = 3;          // snapshots in the window
    uint64_t min_samples = 20;         // tcp_probe samples in the namespace over the window
    double min_at_max_share = 0.5;     // of the samples: buffers at the max
    double min_grow_at_max_per_s = 1;  // tcp_rcvbuf_grow at the max
    // Of the senders' connection time (NetnsSample::tcp_send_us, tcp_peer_send_us): waiting
    // for the receive window (rmem) or for send buffer space (wmem); and that time at least.
    double min_limited_share = 0.25;
    double min_send_s = 1;
    double min_bytes_per_s = 64 * 1024;  // received (rmem) or sent (wmem) in the namespace
    double step_factor = 4;
    int64_t rmem_ceiling = 64 << 20;  // tcp_rmem max, rmem_max
    int64_t wmem_ceiling = 64 << 20;  // tcp_wmem max, wmem_max
};

std::unique_ptr<Tuner> make_tcp_buffers_tuner(TcpBuffersConfig config = {});

}  // namespace perfbpf::tune
