#include "tune/tuners/net_backlog.h"

#include <algorithm>

#include "tune/metrics.h"

namespace perfbpf::tune {
namespace {

constexpr const char* kBacklog = "net.core.netdev_max_backlog";
constexpr const char* kSomaxconn = "net.core.somaxconn";
constexpr const char* kSynBacklog = "net.ipv4.tcp_max_syn_backlog";

// One namespace's queue drops over the window, for the intervals its netstat was read.
struct NetnsWindow {
    Scope scope;
    uint64_t listen_overflows = 0, listen_drops = 0, syn_drops = 0;
    double seconds = 0;
    size_t intervals = 0;
};

std::map<std::string, NetnsWindow> per_netns(const TunerInput& in) {
    std::map<std::string, NetnsWindow> out;
    for (const Snapshot& s : in.window) {
        for (const NetnsSample& n : s.netns) {
            auto scope = netns_scope(n);
            if (!scope || !n.netstat_available || !in.allows(*scope)) continue;
            NetnsWindow& w = out[n.name];
            w.scope = *scope;
            w.listen_overflows += n.listen_overflows;
            w.listen_drops += n.listen_drops;
            w.syn_drops += n.syn_queue_drops + n.syncookies_sent;
            w.seconds += interval_seconds(s);
            ++w.intervals;
        }
    }
    return out;
}

class NetBacklogTuner : public Tuner {
  public:
    explicit NetBacklogTuner(NetBacklogConfig c) : c_(c) {}
    std::string_view name() const override { return "net-backlog"; }
    std::string_view summary() const override {
        return "netdev_max_backlog from input backlog drops (host); somaxconn and "
               "tcp_max_syn_backlog from accept- and SYN-queue overflows (per namespace)";
    }
    std::set<std::string> families() const override { return {"net"}; }

    std::vector<KnobId> wants(const TunerInput& in) const override {
        std::vector<KnobId> out;
        if (in.allows(Scope::host())) out.push_back(sysctl_knob(kBacklog, Scope::host()));
        for (const auto& [name, w] : per_netns(in)) {
            out.push_back(sysctl_knob(kSomaxconn, w.scope));
            out.push_back(sysctl_knob(kSynBacklog, w.scope));
        }
        return out;
    }

    std::vector<Recommendation> decide(const TunerInput& in) const override {
        std::vector<Recommendation> out;
        if (in.window.size() < c_.min_intervals) return out;
        if (auto r = input_backlog(in)) out.push_back(std::move(*r));
        for (const auto& [name, w] : per_netns(in)) {
            if (w.intervals < c_.min_intervals || w.seconds <= 0) continue;
            if (auto r = accept_queue(in, name, w)) out.push_back(std::move(*r));
            if (auto r = syn_queue(in, name, w)) out.push_back(std::move(*r));
        }
        return out;
    }

  private:
    // One step up of `id` when `rate` reaches `min_rate` and the knob is under `ceiling`;
    // the caller adds evidence, words and metrics. `cur` is the knob's value.
    std::optional<Recommendation> raise(const TunerInput& in, const KnobId& id, int64_t ceiling,
                                        double rate, double min_rate, int64_t& cur) const {
        auto v = in.int_knob(id);
        if (!v || *v >= ceiling || rate < min_rate) return std::nullopt;
        cur = *v;
        Recommendation r;
        r.knob = id;
        r.current = std::to_string(cur);
        r.proposed = std::to_string(step_up(cur, c_.step_factor, ceiling));
        r.direction = +1;
        return r;
    }

    std::optional<Recommendation> input_backlog(const TunerInput& in) const {
        if (!in.allows(Scope::host())) return std::nullopt;
        uint64_t softnet = 0, bpf = 0;
        for (const Snapshot& s : in.window) {
            softnet += s.system.softnet_backlog_drops;
            for (const auto& n : s.netns) bpf += n.cpu_backlog_drops;
        }
        const double secs = window_seconds(in.window);
        const double rate = double(std::max(softnet, bpf)) / secs;
        int64_t cur = 0;
        auto rec = raise(in, sysctl_knob(kBacklog, Scope::host()), c_.backlog_ceiling, rate,
                         c_.min_backlog_drops_per_s, cur);
        if (!rec) return std::nullopt;
        Recommendation& r = *rec;
        r.evidence = {{"backlog_drops_per_s", rate, Unit::per_s},
                      {"softnet_backlog_drops", double(softnet), Unit::count},
                      {"cpu_backlog_drops", double(bpf), Unit::count},
                      {"netdev_max_backlog", double(cur), Unit::count}};
        r.reason =
            "{backlog_drops_per_s} packets dropped with a CPU's input backlog full "
            "({netdev_max_backlog} packets)";
        r.expected = "bursts fit in the per-CPU input queue: fewer backlog drops";
        r.target = backlog_drops_per_s();
        r.guard = packet_drops_per_s();
        return rec;
    }

    std::optional<Recommendation> accept_queue(const TunerInput& in, const std::string& name,
                                               const NetnsWindow& w) const {
        const double rate = double(w.listen_overflows) / w.seconds;
        int64_t cur = 0;
        auto rec = raise(in, sysctl_knob(kSomaxconn, w.scope), c_.somaxconn_ceiling, rate,
                         c_.min_listen_overflows_per_s, cur);
        if (!rec) return std::nullopt;
        Recommendation& r = *rec;
        r.evidence = {{"listen_overflows_per_s", rate, Unit::per_s},
                      {"listen_overflows", double(w.listen_overflows), Unit::count},
                      {"listen_drops", double(w.listen_drops), Unit::count},
                      {"somaxconn", double(cur), Unit::count}};
        r.reason = "{listen_overflows_per_s} connections found the accept queue full in " +
                   netns_words(w.scope) + " (somaxconn {somaxconn})";
        r.expected =
            "listeners that ask for a larger backlog get it when they listen again: fewer "
            "overflows";
        r.target = netns_metric(NetnsMetric::listen_overflows_per_s, name);
        r.guard = netns_metric(NetnsMetric::tcp_bytes_per_s, name);
        return rec;
    }

    std::optional<Recommendation> syn_queue(const TunerInput& in, const std::string& name,
                                            const NetnsWindow& w) const {
        const double rate = double(w.syn_drops) / w.seconds;
        int64_t cur = 0;
        auto rec = raise(in, sysctl_knob(kSynBacklog, w.scope), c_.syn_backlog_ceiling, rate,
                         c_.min_syn_drops_per_s, cur);
        if (!rec) return std::nullopt;
        Recommendation& r = *rec;
        r.evidence = {{"syn_drops_per_s", rate, Unit::per_s},
                      {"syn_drops", double(w.syn_drops), Unit::count},
                      {"tcp_max_syn_backlog", double(cur), Unit::count}};
        r.reason = "{syn_drops_per_s} SYNs dropped or answered with cookies in " +
                   netns_words(w.scope) + " with the SYN queue full (tcp_max_syn_backlog " +
                   "{tcp_max_syn_backlog})";
        r.expected = "more half-open connections queued: fewer SYN drops and cookies";
        r.target = netns_metric(NetnsMetric::syn_drops_per_s, name);
        r.guard = netns_metric(NetnsMetric::tcp_bytes_per_s, name);
        return rec;
    }

    NetBacklogConfig c_;
};

}  // namespace

std::unique_ptr<Tuner> make_net_backlog_tuner(NetBacklogConfig config) {
    return std::make_unique<NetBacklogTuner>(config);
}

}  // namespace perfbpf::tune
