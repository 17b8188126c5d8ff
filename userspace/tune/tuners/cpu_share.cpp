#include "tune/tuners/cpu_share.h"

#include <algorithm>
#include <cmath>

#include "tune/metrics.h"
#include "util/format.h"

namespace perfbpf::tune {
namespace {

constexpr const char* kWeight = "cpu.weight";
constexpr const char* kShares = "cpu.shares";
constexpr int64_t kDefaultWeight = 100, kDefaultShares = 1024;

// One cgroup's scheduling evidence summed over the window.
struct CgroupWindow {
    std::string path, hierarchy, v1_cpu_path;
    uint64_t oncpu_ns = 0, vol_switches = 0, runq_waits = 0, runq_wait_ns = 0;
    Log2Histogram runq_hist;
    double seconds = 0;

    double cpus() const { return seconds > 0 ? double(oncpu_ns) / 1e9 / seconds : 0; }
    double wakeups_per_s() const { return seconds > 0 ? double(vol_switches) / seconds : 0; }
    double wait_ms_per_s() const { return seconds > 0 ? double(runq_wait_ns) / 1e6 / seconds : 0; }
    double wait_per_run() const {
        return oncpu_ns ? double(runq_wait_ns) / double(oncpu_ns) : (runq_wait_ns ? 1e9 : 0);
    }
    // On-CPU time per voluntary switch; a cgroup that never slept ran one long burst.
    double burst_us() const {
        return double(oncpu_ns) / 1e3 / double(std::max<uint64_t>(vol_switches, 1));
    }
    double p99_us() const { return runq_hist.empty() ? 0 : runq_hist.percentile_us(0.99); }
};

// Where a cgroup's weight lives: the knob and the path in the hierarchy that holds it.
struct Placement {
    KnobId knob;
    std::string path;
    bool operator==(const Placement&) const = default;
};

KnobId cgroup_knob(const char* key, const std::string& path) {
    return {KnobKind::cgroup, key, Scope::cgroup(path)};
}

bool usable(const std::string& path) {
    return !path.empty() && path != "/";
}

// The knobs that may hold a cgroup's weight, best first (see the header).
std::vector<Placement> candidates(const CgroupWindow& c) {
    std::vector<Placement> out;
    if (c.hierarchy == "v2" && usable(c.path))
        out.push_back({cgroup_knob(kWeight, c.path), c.path});
    else if (c.hierarchy == "cpu" && usable(c.path))
        out.push_back({cgroup_knob(kShares, c.path), c.path});
    if (c.hierarchy != "cpu" && usable(c.v1_cpu_path))
        out.push_back({cgroup_knob(kShares, c.v1_cpu_path), c.v1_cpu_path});
    return out;
}

std::vector<CgroupWindow> per_cgroup(std::span<const Snapshot> window) {
    std::map<std::pair<std::string, std::string>, CgroupWindow> by_key;
    for (const Snapshot& s : window) {
        for (const CgroupSample& c : s.cgroups) {
            CgroupWindow& w = by_key[{c.hierarchy, c.path}];
            w.path = c.path;
            w.hierarchy = c.hierarchy;
            if (!c.v1_cpu_path.empty()) w.v1_cpu_path = c.v1_cpu_path;
            w.oncpu_ns += c.oncpu_ns;
            w.vol_switches += c.vol_switches;
            w.runq_waits += c.runq_waits;
            w.runq_wait_ns += c.runq_wait_ns;
            w.runq_hist.merge(c.runq_hist);
        }
    }
    // Rates over the whole window: an interval a cgroup is absent from, it ran nothing.
    const double secs = window_seconds(window);
    std::vector<CgroupWindow> out;
    for (auto& [key, w] : by_key) {
        w.seconds = secs;
        out.push_back(std::move(w));
    }
    return out;
}

class CpuShareTuner : public Tuner {
  public:
    explicit CpuShareTuner(CpuShareConfig c) : c_(std::move(c)) {}
    std::string_view name() const override { return "cpu-share"; }
    std::string_view summary() const override {
        return "cpu.weight (v2) / cpu.shares (v1) of a latency-sensitive cgroup that waits for "
               "the CPU behind a CPU-bound sibling; lowered back when the pressure is gone";
    }
    std::set<std::string> families() const override { return {"sched"}; }

    std::vector<KnobId> wants(const TunerInput& in) const override {
        std::vector<KnobId> out;
        for (const CgroupWindow& c : per_cgroup(in.window)) {
            if (!latency_sensitive(c)) continue;
            for (const Placement& p : candidates(c))
                if (in.allows(p.knob.scope)) out.push_back(p.knob);
        }
        return out;
    }

    std::vector<Recommendation> decide(const TunerInput& in) const override {
        std::vector<Recommendation> out;
        if (in.window.size() < c_.min_intervals) return out;
        const std::vector<CgroupWindow> all = per_cgroup(in.window);
        for (const CgroupWindow& c : all) {
            if (!latency_sensitive(c)) continue;
            auto p = placement(in, c);
            if (!p || !in.allows(p->knob.scope)) continue;
            auto cur = in.int_knob(p->knob);
            if (!cur) continue;
            const CgroupWindow* hog = competitor(all, c, *p);
            if (hog) {
                if (auto r = raise(c, *p, *cur, *hog)) out.push_back(std::move(*r));
            } else if (auto r = lower(c, *p, *cur)) {
                out.push_back(std::move(*r));
            }
        }
        return out;
    }

  private:
    bool configured(const CgroupWindow& c) const {
        return std::find(c_.latency_sensitive.begin(), c_.latency_sensitive.end(), c.path) !=
               c_.latency_sensitive.end();
    }
    bool latency_sensitive(const CgroupWindow& c) const {
        if (configured(c)) return true;
        return c.vol_switches > 0 && c.burst_us() <= c_.max_burst_us &&
               c.wakeups_per_s() >= c_.min_wakeups_per_s;
    }
    bool cpu_bound(const CgroupWindow& c) const {
        return c.burst_us() >= c_.min_hog_burst_us && c.cpus() >= c_.min_hog_cpu &&
               c.wakeups_per_s() <= c_.max_hog_switches_per_s;
    }

    // The first candidate knob that could be read.
    static std::optional<Placement> placement(const TunerInput& in, const CgroupWindow& c) {
        for (const Placement& p : candidates(c))
            if (in.int_knob(p.knob)) return p;
        return std::nullopt;
    }
    // Where `other` sits in the hierarchy of `mine` (nullopt: not in it).
    static std::optional<std::string> path_in(const CgroupWindow& other, const Placement& mine) {
        for (const Placement& p : candidates(other))
            if (p.knob.key == mine.knob.key) return p.path;
        return std::nullopt;
    }

    // The CPU-bound sibling that takes the most CPU, or null.
    const CgroupWindow* competitor(const std::vector<CgroupWindow>& all, const CgroupWindow& c,
                                   const Placement& mine) const {
        const CgroupWindow* best = nullptr;
        for (const CgroupWindow& o : all) {
            if (&o == &c || !cpu_bound(o)) continue;
            auto at = path_in(o, mine);
            if (!at || *at == mine.path || cgroup_parent(*at) != cgroup_parent(mine.path)) continue;
            if (!best || o.oncpu_ns > best->oncpu_ns) best = &o;
        }
        return best;
    }

    int64_t default_of(const Placement& p) const {
        return p.knob.key == kWeight ? kDefaultWeight : kDefaultShares;
    }
    int64_t ceiling_of(const Placement& p) const {
        return p.knob.key == kWeight ? c_.weight_ceiling : c_.shares_ceiling;
    }

    std::vector<std::pair<std::string, double>> evidence(const CgroupWindow& c, const Placement& p,
                                                         int64_t cur) const {
        return {{"runq_wait_ms_per_s", c.wait_ms_per_s()},
                {"runq_wait_per_oncpu", c.wait_per_run()},
                {"runq_lat_p99_us", c.p99_us()},
                {"burst_avg_us", c.burst_us()},
                {"wakeups_per_s", c.wakeups_per_s()},
                {"oncpu_cpus", c.cpus()},
                {p.knob.key, double(cur)}};
    }

    std::optional<Recommendation> raise(const CgroupWindow& c, const Placement& p, int64_t cur,
                                        const CgroupWindow& hog) const {
        const int64_t ceiling = ceiling_of(p);
        if (cur >= ceiling) return std::nullopt;
        if (c.wait_ms_per_s() < c_.raise_wait_ms_per_s ||
            c.wait_per_run() < c_.raise_wait_per_run || c.p99_us() < c_.raise_p99_us)
            return std::nullopt;
        const auto to = static_cast<int64_t>(std::ceil(double(cur) * c_.step_factor));
        Recommendation r;
        r.knob = p.knob;
        r.current = std::to_string(cur);
        r.proposed = std::to_string(std::min(ceiling, to));
        r.direction = +1;
        r.evidence = evidence(c, p, cur);
        r.evidence.push_back({"competitor_oncpu_cpus", hog.cpus()});
        r.evidence.push_back({"competitor_burst_avg_us", hog.burst_us()});
        r.reason = "cgroup " + c.path + (configured(c) ? " (configured latency-sensitive)" : "") +
                   " waits " + format_fixed(c.wait_ms_per_s(), 1) +
                   " ms/s for the CPU (run-queue p99 " + format_fixed(c.p99_us(), 0) +
                   " us, bursts of " + format_fixed(c.burst_us(), 0) + " us) behind CPU-bound " +
                   hog.path + " (" + format_fixed(hog.cpus(), 2) + " CPUs, bursts of " +
                   format_fixed(hog.burst_us() / 1000, 0) + " ms)";
        r.expected =
            "the scheduler runs its wakeups sooner: less run-queue wait, little CPU "
            "taken from " +
            hog.path;
        r.target = cgroup_metric(CgroupMetric::runq_wait_ms_per_s, c.path, c.hierarchy);
        r.guard = cgroup_metric(CgroupMetric::oncpu_s_per_s, hog.path, hog.hierarchy);
        return r;
    }

    std::optional<Recommendation> lower(const CgroupWindow& c, const Placement& p,
                                        int64_t cur) const {
        const int64_t def = default_of(p);
        if (cur <= def) return std::nullopt;
        // Either says the waits are gone: a cgroup that runs much also meets stray waits
        // (kernel threads on its CPU) that are nothing beside its run time.
        if (c.wait_ms_per_s() > c_.lower_wait_ms_per_s && c.wait_per_run() > c_.lower_wait_per_run)
            return std::nullopt;
        const auto to = static_cast<int64_t>(std::floor(double(cur) / c_.step_factor));
        Recommendation r;
        r.knob = p.knob;
        r.current = std::to_string(cur);
        r.proposed = std::to_string(std::max(def, to));
        r.direction = -1;
        r.evidence = evidence(c, p, cur);
        r.reason = "cgroup " + c.path + " has no CPU-bound sibling and waits only " +
                   format_fixed(c.wait_ms_per_s(), 1) + " ms/s for the CPU; " + p.knob.key + " " +
                   std::to_string(cur) + " is above the default " + std::to_string(def);
        r.expected = "its siblings get their share back; its own waits stay low";
        r.target = cgroup_metric(CgroupMetric::siblings_runq_wait_ms_per_s, c.path, c.hierarchy);
        r.guard = cgroup_metric(CgroupMetric::runq_wait_ms_per_s, c.path, c.hierarchy);
        return r;
    }

    CpuShareConfig c_;
};

}  // namespace

std::unique_ptr<Tuner> make_cpu_share_tuner(CpuShareConfig config) {
    return std::make_unique<CpuShareTuner>(std::move(config));
}

}  // namespace perfbpf::tune
