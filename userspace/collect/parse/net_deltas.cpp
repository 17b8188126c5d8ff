#include "collect/parse/net_deltas.h"

#include <array>

namespace perfbpf {
namespace {

uint64_t grew(uint64_t now, uint64_t before) {
    return now >= before ? now - before : now;
}

// include/net/tcp_states.h; stable user-visible numbering (ss, /proc/net/tcp).
constexpr std::array<const char*, 14> kTcpStates = {
    "STATE_0",   "ESTABLISHED", "SYN_SENT",     "SYN_RECV",      "FIN_WAIT1",
    "FIN_WAIT2", "TIME_WAIT",   "CLOSE",        "CLOSE_WAIT",    "LAST_ACK",
    "LISTEN",    "CLOSING",     "NEW_SYN_RECV", "BOUND_INACTIVE"};

enum TcpState {
    kEstablished = 1,
    kSynSent = 2,
    kSynRecv = 3,
    kFinWait1 = 4,
    kClose = PERFBPF_TCP_STATE_CLOSE,
    kCloseWait = 8,
};

}  // namespace

std::string tcp_state_name(int state) {
    if (state > 0 && static_cast<size_t>(state) < kTcpStates.size()) return kTcpStates[state];
    return "STATE_" + std::to_string(state);
}

bool is_reset_transition(int old_state, int new_state) {
    if (new_state != kClose) return false;
    switch (old_state) {
        case kEstablished:
        case kSynSent:
        case kSynRecv:
        case kFinWait1:
        case kCloseWait:
            return true;
        default:
            return false;
    }
}

std::string drop_reason_label(uint32_t slot,
                              const std::function<std::string(long long)>& enum_name) {
    static constexpr std::string_view kPrefix = "SKB_DROP_REASON_";
    std::string name = enum_name(static_cast<long long>(slot));
    if (name.starts_with(kPrefix)) return name.substr(kPrefix.size());
    if (!name.empty()) return name;
    if (slot == PERFBPF_DROP_REASON_OTHER) return "OTHER";
    return "REASON_" + std::to_string(slot);
}

net_cpu_stats sum_net_cpus(const std::vector<net_cpu_stats>& per_cpu) {
    net_cpu_stats s{};
    for (const auto& c : per_cpu) {
        s.tx_bytes += c.tx_bytes;
        s.rx_bytes += c.rx_bytes;
        s.retransmits += c.retransmits;
        s.retransmits_unattributed += c.retransmits_unattributed;
        s.rtt_samples += c.rtt_samples;
        s.cwnd_sum += c.cwnd_sum;
        for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i) s.srtt_hist[i] += c.srtt_hist[i];
        for (size_t o = 0; o < PERFBPF_TCP_STATES; ++o)
            for (size_t n = 0; n < PERFBPF_TCP_STATES; ++n)
                s.transitions[o][n] += c.transitions[o][n];
        for (size_t i = 0; i < PERFBPF_DROP_REASON_SLOTS; ++i) s.drops[i] += c.drops[i];
    }
    return s;
}

NetProcessDelta NetDeltas::add_process(uint32_t tgid, const net_proc_stats& now) {
    net_proc_stats before{};
    if (auto it = prev_.find(tgid); it != prev_.end()) {
        const net_proc_stats& p = it->second;
        if (now.tx_bytes >= p.tx_bytes && now.rx_bytes >= p.rx_bytes &&
            now.retransmits >= p.retransmits)
            before = p;
    }
    prev_[tgid] = now;
    seen_.insert(tgid);
    return NetProcessDelta{now.tx_bytes - before.tx_bytes, now.rx_bytes - before.rx_bytes,
                           now.retransmits - before.retransmits};
}

void NetDeltas::end_read() {
    std::erase_if(prev_, [&](const auto& kv) { return !seen_.contains(kv.first); });
    seen_.clear();
}

void NetDeltas::add_system(const net_cpu_stats& now, const std::vector<std::string>& drop_labels,
                           SystemSample& out) {
    const net_cpu_stats& before = prev_system_;
    out.tcp_tx_bytes += grew(now.tx_bytes, before.tx_bytes);
    out.tcp_rx_bytes += grew(now.rx_bytes, before.rx_bytes);
    out.tcp_retransmits += grew(now.retransmits, before.retransmits);
    out.tcp_retransmits_unattributed +=
        grew(now.retransmits_unattributed, before.retransmits_unattributed);

    for (int o = 0; o < PERFBPF_TCP_STATES; ++o) {
        for (int n = 0; n < PERFBPF_TCP_STATES; ++n) {
            uint64_t d = grew(now.transitions[o][n], before.transitions[o][n]);
            if (!d) continue;
            out.tcp_state_changes += d;
            out.tcp_states_entered[tcp_state_name(n)] += d;
            if (is_reset_transition(o, n)) out.tcp_resets += d;
        }
    }

    for (size_t i = 0; i < PERFBPF_DROP_REASON_SLOTS; ++i) {
        uint64_t d = grew(now.drops[i], before.drops[i]);
        if (!d) continue;
        std::string label = i < drop_labels.size() ? drop_labels[i] : "REASON_" + std::to_string(i);
        out.packet_drops[label] += d;
        out.packet_drops_total += d;
    }

    Log2Histogram srtt;
    for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i)
        srtt.add_slot(i, grew(now.srtt_hist[i], before.srtt_hist[i]));
    out.tcp_srtt_p99_us = srtt.percentile_us(0.99);
    uint64_t samples = grew(now.rtt_samples, before.rtt_samples);
    out.tcp_rtt_samples += samples;
    out.tcp_cwnd_avg_segs =
        samples ? static_cast<double>(grew(now.cwnd_sum, before.cwnd_sum)) / samples : 0.0;
    prev_system_ = now;
}

}  // namespace perfbpf
