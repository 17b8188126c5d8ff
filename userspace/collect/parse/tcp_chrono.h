// tcp_info's chrono counters (collect/parse/inet_diag.h) turned into per-namespace amounts
// within an interval, for the senders of each namespace and for the senders on this machine
// whose receiving end is in it. Pure, so unit tests feed recorded sweeps;
// collect/netns_source reads the sockets.
//
// A receive buffer limits a connection only through its sender: the kernel accounts for
// the time a sender had data queued and the peer's window kept it from sending
// (tcpi_rwnd_limited), which no receiver-side count tells apart from an application that
// sends less than the window allows. When both ends are on this machine (loopback, veth
// between namespaces, containers) the sender's socket is found by the connection's
// addresses mirrored: its local end is the receiver's remote one and the reverse.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "collect/parse/inet_diag.h"
#include "model/snapshot.h"

namespace perfbpf {

// Amounts within one interval, µs. send_us: the interval, once for each socket that had
// data to send in it (busy time grew) or sent some (bytes acknowledged grew) (time the sockets were
// there to send: a share of it spent waiting is what a larger buffer could give back, where busy_us
// alone would call a paced sender that bursts into a small window "limited").
struct TcpChrono {
    uint64_t send_us = 0, busy_us = 0, rwnd_limited_us = 0, sndbuf_limited_us = 0;
};

struct TcpChronoNetns {
    TcpChrono own;    // this namespace's sockets as senders
    TcpChrono peers;  // the senders on this machine whose peer socket is in this namespace
};

class TcpChronoDeltas {
  public:
    // One sweep: the sockets of each namespace read (by inode), interval_us since the
    // previous sweep. A namespace's first sweep is its baseline (its sockets' counts since
    // they opened are not the interval's); a socket first seen later opened within the
    // interval and counts from zero. Sockets without chrono counters are left out.
    std::map<uint64_t, TcpChronoNetns> add_sweep(
        const std::map<uint64_t, std::vector<TcpFlow>>& sweep, uint64_t interval_us);

  private:
    std::map<uint64_t, TcpFlow> prev_;  // cookie -> the socket's counts at the last sweep
    std::map<uint64_t, bool> netns_seen_;
};

// Adds one namespace's amounts to its sample (tcp_info_available set).
void apply_tcp_chrono(const TcpChronoNetns& c, NetnsSample& out);

}  // namespace perfbpf
