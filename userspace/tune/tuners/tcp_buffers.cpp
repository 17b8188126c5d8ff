#include "tune/tuners/tcp_buffers.h"

#include <algorithm>

#include "tune/metrics.h"

namespace perfbpf::tune {
namespace {

// The knobs of one direction.
struct Side {
    const char* tcp_key;   // the per-namespace triple
    const char* core_key;  // the host-wide cap of SO_RCVBUF / SO_SNDBUF
    const char* buffer;    // "receive", "send": for reasons
};
constexpr Side kReceive{"net.ipv4.tcp_rmem", "net.core.rmem_max", "receive"};
constexpr Side kSend{"net.ipv4.tcp_wmem", "net.core.wmem_max", "send"};

// One namespace's buffer evidence over the window.
struct NetnsWindow {
    Scope scope;
    uint64_t samples = 0, rcvbuf_at_max = 0, sndbuf_at_max = 0;
    uint64_t grow_at_max = 0;
    // tcp_info's chrono amounts, µs: this namespace's senders, and this machine's senders
    // into it (NetnsSample::tcp_peer_*)
    uint64_t send_us = 0, sndbuf_limited_us = 0;
    uint64_t peer_send_us = 0, peer_busy_us = 0, peer_rwnd_limited_us = 0;
    uint64_t rx_bytes = 0, tx_bytes = 0, rcvq_drops = 0, prunes = 0;
    uint64_t memory_pressure = 0;  // TCP memory pressure entries + refused allocations
    double seconds = 0;
    size_t intervals = 0;

    double share(uint64_t n) const { return samples ? double(n) / double(samples) : 0; }
    static double time_share(uint64_t us, uint64_t of_us) {
        return of_us ? double(us) / double(of_us) : 0;
    }
    bool has_tcp() const { return samples > 0 || grow_at_max > 0; }
};

std::map<std::string, NetnsWindow> per_netns(const TunerInput& in) {
    std::map<std::string, NetnsWindow> out;
    for (const Snapshot& s : in.window) {
        for (const NetnsSample& n : s.netns) {
            auto scope = netns_scope(n);
            if (!scope || !in.allows(*scope)) continue;
            NetnsWindow& w = out[n.name];
            w.scope = *scope;
            w.samples += n.tcp_samples;
            w.rcvbuf_at_max += n.rcvbuf_at_max_samples;
            w.sndbuf_at_max += n.sndbuf_at_max_samples;
            w.send_us += n.tcp_send_us;
            w.sndbuf_limited_us += n.tcp_sndbuf_limited_us;
            w.peer_send_us += n.tcp_peer_send_us;
            w.peer_busy_us += n.tcp_peer_busy_us;
            w.peer_rwnd_limited_us += n.tcp_peer_rwnd_limited_us;
            w.grow_at_max += n.rcvbuf_grow_at_max.value_or(0);
            w.rx_bytes += n.tcp_rx_bytes;
            w.tx_bytes += n.tcp_tx_bytes;
            w.rcvq_drops += n.rcvq_drops;
            w.prunes += n.prune_called;
            w.memory_pressure += n.memory_pressures + n.mem_limit_send + n.mem_limit_recv;
            w.seconds += interval_seconds(s);
            ++w.intervals;
        }
    }
    return out;
}

// What the evidence of one side says, for the recommendations it leads to.
struct Finding {
    std::string reason;
    EvidenceList evidence;
};

class TcpBuffersTuner : public Tuner {
  public:
    explicit TcpBuffersTuner(TcpBuffersConfig c) : c_(c) {}
    std::string_view name() const override { return "tcp-buffers"; }
    std::string_view summary() const override {
        return "tcp_rmem / tcp_wmem max per namespace (and rmem_max / wmem_max on the host) "
               "where TCP buffers sit at that max";
    }
    std::set<std::string> families() const override { return {"net"}; }

    std::vector<KnobId> wants(const TunerInput& in) const override {
        std::vector<KnobId> out;
        for (const auto& [name, w] : per_netns(in)) {
            if (!w.has_tcp()) continue;
            for (const Side* side : {&kReceive, &kSend}) {
                out.push_back(sysctl_knob(side->tcp_key, w.scope));
                if (w.scope.kind == ScopeKind::host)
                    out.push_back(sysctl_knob(side->core_key, Scope::host()));
            }
        }
        return out;
    }

    std::vector<Recommendation> decide(const TunerInput& in) const override {
        std::vector<Recommendation> out;
        for (const auto& [name, w] : per_netns(in)) {
            if (w.intervals < c_.min_intervals || w.seconds <= 0 || !w.has_tcp()) continue;
            // Protocol memory or a cgroup refuses buffers: larger ones press on it harder.
            if (w.memory_pressure > 0) continue;
            if (auto f = receive_limited(w)) raise(in, name, w, kReceive, *f, out);
            if (auto f = send_limited(w)) raise(in, name, w, kSend, *f, out);
        }
        return out;
    }

  private:
    // A buffer at its max limits a flow only when its sender waits for the window the
    // buffer allows; a sender held back by its application (iperf3 -b, a paced stream)
    // spends a small share of its time with data to send at all.
    std::optional<Finding> receive_limited(const NetnsWindow& w) const {
        const double share = w.share(w.rcvbuf_at_max);
        const double grow_rate = double(w.grow_at_max) / w.seconds;
        const double rx_rate = double(w.rx_bytes) / w.seconds;
        const bool at_max = w.samples >= c_.min_samples && share >= c_.min_at_max_share;
        const double limited = NetnsWindow::time_share(w.peer_rwnd_limited_us, w.peer_send_us);
        const double busy = NetnsWindow::time_share(w.peer_busy_us, w.peer_send_us);
        const double send_s = double(w.peer_send_us) / 1e6;
        if (!(at_max || grow_rate >= c_.min_grow_at_max_per_s) || send_s < c_.min_send_s ||
            limited < c_.min_limited_share || rx_rate < c_.min_bytes_per_s)
            return std::nullopt;
        Finding f;
        f.evidence = {{"rcvbuf_at_max_share", share, Unit::share},
                      {"tcp_samples", double(w.samples), Unit::count},
                      {"rcvbuf_grow_at_max_per_s", grow_rate, Unit::per_s},
                      {"peer_rwnd_limited_share", limited, Unit::share},
                      {"peer_busy_share", busy, Unit::share},
                      {"peer_send_us", double(w.peer_send_us), Unit::us},
                      {"rx_bytes_per_s", rx_rate, Unit::bytes_per_s},
                      {"rcvq_drops", double(w.rcvq_drops), Unit::count},
                      {"prune_called", double(w.prunes), Unit::count}};
        f.reason = at_max ? "{rcvbuf_at_max_share} of {tcp_samples} TCP samples had the receive "
                            "buffer at the max"
                          : "{rcvbuf_grow_at_max_per_s} receive-buffer growths refused at the max";
        f.reason +=
            " and the senders into it waited for its window {peer_rwnd_limited_share} of their "
            "{peer_send_us} (data queued {peer_busy_share}) while receiving {rx_bytes_per_s}";
        return f;
    }

    std::optional<Finding> send_limited(const NetnsWindow& w) const {
        if (w.samples < c_.min_samples) return std::nullopt;
        const double at_max = w.share(w.sndbuf_at_max);
        const double limited = NetnsWindow::time_share(w.sndbuf_limited_us, w.send_us);
        const double send_s = double(w.send_us) / 1e6;
        const double tx_rate = double(w.tx_bytes) / w.seconds;
        if (at_max < c_.min_at_max_share || send_s < c_.min_send_s ||
            limited < c_.min_limited_share || tx_rate < c_.min_bytes_per_s)
            return std::nullopt;
        Finding f;
        f.evidence = {{"sndbuf_at_max_share", at_max, Unit::share},
                      {"tcp_samples", double(w.samples), Unit::count},
                      {"sndbuf_limited_share", limited, Unit::share},
                      {"send_us", double(w.send_us), Unit::us},
                      {"tx_bytes_per_s", tx_rate, Unit::bytes_per_s}};
        f.reason =
            "{sndbuf_at_max_share} of {tcp_samples} TCP samples had the send buffer at the max "
            "and the senders waited for send buffer space {sndbuf_limited_share} of their "
            "{send_us} while sending {tx_bytes_per_s}";
        return f;
    }

    int64_t ceiling(const Side& side) const {
        return &side == &kReceive ? c_.rmem_ceiling : c_.wmem_ceiling;
    }

    // The TCP max of `side` in the namespace raised one step, and on the host the core cap
    // raised towards the (new) TCP max when it is below it.
    void raise(const TunerInput& in, const std::string& name, const NetnsWindow& w,
               const Side& side, const Finding& f, std::vector<Recommendation>& out) const {
        const KnobId id = sysctl_knob(side.tcp_key, w.scope);
        auto fields = in.int_fields(id, 3);  // min default max
        if (!fields) return;
        const int64_t cur_max = (*fields)[2], top = ceiling(side);
        int64_t tcp_max = cur_max;
        auto base = [&](const KnobId& knob, int64_t cur, int64_t to) {
            Recommendation r;
            r.knob = knob;
            r.direction = +1;
            r.evidence = f.evidence;
            r.evidence.push_back({knob.key, double(cur), Unit::bytes});
            r.evidence.push_back({"proposed_bytes", double(to), Unit::bytes});
            r.target = netns_metric(NetnsMetric::tcp_bytes_per_s, name);
            r.guard = netns_metric(NetnsMetric::loss_per_mib, name);
            const std::string what = knob.key == side.tcp_key ? "the max of " + knob.key : knob.key;
            r.reason = f.reason + " in " + netns_words(w.scope) + " (" + what + ": {" + knob.key +
                       "}, proposed {proposed_bytes})";
            return r;
        };
        if (cur_max < top) {
            tcp_max = step_up(cur_max, c_.step_factor, top);
            std::vector<int64_t> to = *fields;
            to[2] = tcp_max;
            Recommendation r = base(id, cur_max, tcp_max);
            r.current = format_int_fields(*fields);
            r.proposed = format_int_fields(to);
            r.expected = std::string("TCP ") + side.buffer +
                         " buffers grow larger: a wider window per round trip, more throughput "
                         "on paths with a large bandwidth-delay product";
            out.push_back(std::move(r));
        }
        if (w.scope.kind != ScopeKind::host) return;
        const KnobId core = sysctl_knob(side.core_key, Scope::host());
        auto cap = in.int_knob(core);
        if (!cap || *cap >= tcp_max || *cap >= top) return;
        const int64_t to = std::min(tcp_max, step_up(*cap, c_.step_factor, top));
        Recommendation r = base(core, *cap, to);
        r.current = std::to_string(*cap);
        r.proposed = std::to_string(to);
        r.expected = std::string("applications that size their ") + side.buffer +
                     " buffers themselves may have as much as autotuned sockets";
        out.push_back(std::move(r));
    }

    TcpBuffersConfig c_;
};

}  // namespace

std::unique_ptr<Tuner> make_tcp_buffers_tuner(TcpBuffersConfig config) {
    return std::make_unique<TcpBuffersTuner>(config);
}

}  // namespace perfbpf::tune
