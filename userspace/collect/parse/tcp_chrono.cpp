#include "collect/parse/tcp_chrono.h"

#include <tuple>

namespace perfbpf {
namespace {

uint64_t grown(uint64_t now, uint64_t before) {
    return now > before ? now - before : 0;
}

// A connection end as the other end names it: (its local, its remote) mirrored.
using Ends = std::tuple<std::array<uint8_t, 16>, uint16_t, std::array<uint8_t, 16>, uint16_t>;

Ends ends_of(const TcpFlow& f) {
    return {f.local, f.local_port, f.remote, f.remote_port};
}
Ends peer_ends_of(const TcpFlow& f) {
    return {f.remote, f.remote_port, f.local, f.local_port};
}

void add(TcpChrono& to, const TcpChrono& d) {
    to.send_us += d.send_us;
    to.busy_us += d.busy_us;
    to.rwnd_limited_us += d.rwnd_limited_us;
    to.sndbuf_limited_us += d.sndbuf_limited_us;
}

}  // namespace

std::map<uint64_t, TcpChronoNetns> TcpChronoDeltas::add_sweep(
    const std::map<uint64_t, std::vector<TcpFlow>>& sweep, uint64_t interval_us) {
    std::map<uint64_t, TcpChronoNetns> out;
    std::map<uint64_t, TcpFlow> now;
    // Each sending socket's amounts within the interval, by its ends, for its peer to find;
    // ends seen twice (the same addresses in two namespaces) tell no peer apart.
    std::map<Ends, TcpChrono> senders;
    std::map<Ends, int> ends_count;
    std::map<uint64_t, bool> seen;
    for (const auto& [netns, flows] : sweep) {
        const bool baseline = !netns_seen_.contains(netns);
        seen[netns] = true;
        TcpChronoNetns& ns = out[netns];
        for (const TcpFlow& f : flows) {
            ++ends_count[ends_of(f)];
            if (!f.has_chrono) continue;
            now[f.cookie] = f;
            auto before = prev_.find(f.cookie);
            if (baseline && before == prev_.end()) continue;
            const TcpFlow zero;
            const TcpFlow& b = before == prev_.end() ? zero : before->second;
            TcpChrono d;
            d.busy_us = grown(f.busy_us, b.busy_us);
            d.rwnd_limited_us = grown(f.rwnd_limited_us, b.rwnd_limited_us);
            d.sndbuf_limited_us = grown(f.sndbuf_limited_us, b.sndbuf_limited_us);
            // A socket sends in the interval when data moved or waited to: the chrono
            // counters tick in jiffies, so a paced sender's short bursts leave most intervals'
            // busy time at 0 while its bytes are acknowledged in each, and counting only
            // the intervals busy time grew would shrink its sending time and inflate the
            // share it spent waiting.
            if (d.busy_us == 0 && f.bytes_acked <= b.bytes_acked) continue;
            d.send_us = interval_us;
            add(ns.own, d);
            senders[ends_of(f)] = d;
        }
    }
    for (const auto& [netns, flows] : sweep) {
        TcpChronoNetns& ns = out[netns];
        for (const TcpFlow& f : flows) {
            const Ends peer = peer_ends_of(f);
            auto s = senders.find(peer);
            if (s == senders.end() || ends_count[peer] != 1) continue;
            add(ns.peers, s->second);
        }
    }
    prev_ = std::move(now);
    netns_seen_ = std::move(seen);
    return out;
}

void apply_tcp_chrono(const TcpChronoNetns& c, NetnsSample& out) {
    out.tcp_info_available = true;
    out.tcp_info_unavailable.clear();
    out.tcp_send_us += c.own.send_us;
    out.tcp_busy_us += c.own.busy_us;
    out.tcp_rwnd_limited_us += c.own.rwnd_limited_us;
    out.tcp_sndbuf_limited_us += c.own.sndbuf_limited_us;
    out.tcp_peer_send_us += c.peers.send_us;
    out.tcp_peer_busy_us += c.peers.busy_us;
    out.tcp_peer_rwnd_limited_us += c.peers.rwnd_limited_us;
}

}  // namespace perfbpf
