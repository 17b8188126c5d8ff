#include "collect/parse/netns_deltas.h"

#include <array>
#include <cstddef>
#include <cstring>

namespace perfbpf {
namespace {

// Everything from the tag to the drop ways is a __u64 counter (include/perfbpf/net.h), so
// growth is computed word by word.
constexpr size_t kFirstCounter = offsetof(net_ns_stats, tx_bytes);
constexpr size_t kEndCounters = offsetof(net_ns_stats, drop_reason);
constexpr size_t kCounters = (kEndCounters - kFirstCounter) / sizeof(uint64_t);
static_assert(kFirstCounter == 8 && (kEndCounters - kFirstCounter) % 8 == 0);
using Counters = std::array<uint64_t, kCounters>;

Counters counters(const net_ns_stats& s) {
    Counters c;
    std::memcpy(c.data(), reinterpret_cast<const char*>(&s) + kFirstCounter, sizeof(c));
    return c;
}

void add_counters(net_ns_stats& into, const Counters& c) {
    Counters sum = counters(into);
    for (size_t i = 0; i < kCounters; ++i) sum[i] += c[i];
    std::memcpy(reinterpret_cast<char*>(&into) + kFirstCounter, sum.data(), sizeof(sum));
}

uint64_t grew(uint64_t now, uint64_t before) {
    return now >= before ? now - before : 0;
}

uint64_t avg(uint64_t sum, uint64_t n) {
    return n ? sum / n : 0;
}

}  // namespace

NetnsGrowth NetnsSlotDeltas::add_read(const std::vector<std::vector<net_ns_stats>>& per_cpu) {
    NetnsGrowth out;
    slots_ = 0;
    for (size_t cpu = 0; cpu < per_cpu.size(); ++cpu) {
        slots_ = std::max(slots_, per_cpu[cpu].size());
        for (uint32_t slot = 0; slot < per_cpu[cpu].size(); ++slot) {
            const net_ns_stats& now = per_cpu[cpu][slot];
            auto key = std::make_pair(cpu, slot);
            if (!now.inum) {
                seen_.erase(key);
                continue;
            }
            auto it = seen_.find(key);
            const net_ns_stats* before =
                it != seen_.end() && it->second.last.inum == now.inum ? &it->second.last : nullptr;
            Counters c = counters(now);
            if (before) {
                Counters b = counters(*before);
                bool shrank = false;
                for (size_t i = 0; i < kCounters; ++i) shrank |= c[i] < b[i];
                if (shrank)
                    before = nullptr;
                else
                    for (size_t i = 0; i < kCounters; ++i) c[i] -= b[i];
            }
            bool changed = false;
            for (uint64_t v : c) changed |= v != 0;
            if (changed) {
                net_ns_stats& sum = out.counters[now.inum];
                sum.inum = now.inum;
                add_counters(sum, c);
            }
            for (size_t w = 0; w < PERFBPF_NETNS_DROP_WAYS; ++w) {
                if (!now.drop_reason[w]) continue;
                uint64_t d = now.drop_count[w];
                if (before && before->drop_reason[w] == now.drop_reason[w] &&
                    d >= before->drop_count[w])
                    d -= before->drop_count[w];
                if (!d) continue;
                changed = true;
                out.drops[{now.inum, now.drop_reason[w] - 1}] += d;
            }
            Seen& s = seen_[key];
            s.unchanged_reads = changed ? 0 : s.unchanged_reads + 1;
            s.last = now;
        }
    }
    return out;
}

std::vector<uint32_t> NetnsSlotDeltas::idle_slots() const {
    std::vector<uint32_t> idle;
    std::vector<int> state(slots_, 0);  // 0 free everywhere, 1 idle somewhere, 2 in use
    for (const auto& [key, s] : seen_) {
        if (key.second >= slots_) continue;
        int& st = state[key.second];
        st = std::max(st, s.unchanged_reads >= idle_reads_ ? 1 : 2);
    }
    for (uint32_t slot = 0; slot < slots_; ++slot)
        if (state[slot] == 1) idle.push_back(slot);
    return idle;
}

void NetnsSlotDeltas::cleared(uint32_t slot) {
    std::erase_if(seen_, [&](const auto& kv) { return kv.first.second == slot; });
}

std::map<NetnsDropKey, uint64_t> NetnsDropDeltas::add_read(
    const std::map<NetnsDropKey, uint64_t>& now) {
    std::map<NetnsDropKey, uint64_t> out;
    std::erase_if(seen_, [&](const auto& kv) { return !now.contains(kv.first); });
    for (const auto& [key, total] : now) {
        auto [it, fresh] = seen_.try_emplace(key);
        Seen& s = it->second;
        uint64_t d = fresh || total < s.last ? total : total - s.last;
        s.unchanged_reads = d ? 0 : s.unchanged_reads + 1;
        s.last = total;
        if (d) out[key] = d;
    }
    return out;
}

std::vector<NetnsDropKey> NetnsDropDeltas::take_idle() {
    std::vector<NetnsDropKey> idle;
    for (auto it = seen_.begin(); it != seen_.end();) {
        if (it->second.unchanged_reads >= idle_reads_) {
            idle.push_back(it->first);
            it = seen_.erase(it);
        } else {
            ++it;
        }
    }
    return idle;
}

void add_netns_counters(const net_ns_stats& d, bool rcvbuf_grow_attached, NetnsSample& out) {
    out.tcp_tx_bytes += d.tx_bytes;
    out.tcp_rx_bytes += d.rx_bytes;
    out.tcp_retransmits += d.retransmits;
    out.rcvqueue_full += d.rcvqueue_full;
    out.mem_limit_send += d.mem_limit_send;
    out.mem_limit_recv += d.mem_limit_recv;
    if (rcvbuf_grow_attached) {
        out.rcvbuf_grow = out.rcvbuf_grow.value_or(0) + d.rcvbuf_grow;
        out.rcvbuf_grow_at_max = out.rcvbuf_grow_at_max.value_or(0) + d.rcvbuf_grow_at_max;
        out.rcvbuf_grow_locked = out.rcvbuf_grow_locked.value_or(0) + d.rcvbuf_grow_locked;
    }
    // Averages over this call's samples, weighted with what `out` already holds.
    const uint64_t before = out.tcp_samples, n = before + d.probe_samples;
    auto merge = [&](uint64_t avg_before, uint64_t sum) {
        return avg(avg_before * before + sum, n);
    };
    out.snd_wnd_avg_bytes = merge(out.snd_wnd_avg_bytes, d.snd_wnd_sum);
    out.rcv_wnd_avg_bytes = merge(out.rcv_wnd_avg_bytes, d.rcv_wnd_sum);
    out.sndbuf_avg_bytes = merge(out.sndbuf_avg_bytes, d.sndbuf_sum);
    out.rcvbuf_avg_bytes = merge(out.rcvbuf_avg_bytes, d.rcvbuf_sum);
    out.inflight_avg_bytes = merge(out.inflight_avg_bytes, d.inflight_sum);
    out.bdp_avg_bytes = merge(out.bdp_avg_bytes, d.bdp_sum);
    out.tcp_samples = n;
    out.rwnd_limited_samples += d.rwnd_limited;
    out.sndbuf_limited_samples += d.sndbuf_limited;
    out.sndbuf_at_max_samples += d.sndbuf_at_max;
    out.rcvbuf_at_max_samples += d.rcvbuf_at_max;
    for (size_t i = 0; i < PERFBPF_HIST_SLOTS; ++i) out.srtt_hist.add_slot(i, d.srtt_hist[i]);
}

void add_netns_drops(const std::string& label, uint64_t count, NetnsSample& out) {
    out.packet_drops[label] += count;
    out.packet_drops_total += count;
    if (label == "CPU_BACKLOG") out.cpu_backlog_drops += count;
}

void apply_netstat(const std::map<std::string, uint64_t>& now,
                   const std::map<std::string, uint64_t>& before, NetnsSample& out) {
    auto delta = [&](std::string_view key) {
        auto n = now.find(std::string(key));
        if (n == now.end()) return uint64_t{0};
        auto b = before.find(n->first);
        return b == before.end() ? 0 : grew(n->second, b->second);
    };
    out.netstat_available = true;
    out.netstat_unavailable.clear();
    for (const auto& f : kNetnsNetstatFields) out.*f.field = delta(f.key);
}

}  // namespace perfbpf
