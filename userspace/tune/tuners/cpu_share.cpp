#include "tune/tuners/cpu_share.h"

#include <algorithm>
#include <cmath>

#include "tune/metrics.h"

namespace perfbpf::tune {
namespace {

constexpr const char* kWeight = "cpu.weight";
constexpr const char* kShares = "cpu.shares";
constexpr int64_t kDefaultWeight = 100, kDefaultShares = 1024;

constexpr const char* kNice = "nice";

// One cgroup's (or one process's) scheduling evidence summed over the window.
struct SchedWindow {
    std::string path, hierarchy, v1_cpu_path;  // a process: the path of its cgroup
    int pid = 0;                               // a process's; 0 for a cgroup
    std::string comm;
    uint64_t oncpu_ns = 0, vol_switches = 0, runq_waits = 0, runq_wait_ns = 0;
    Log2Histogram runq_hist;
    double seconds = 0;

    template <typename Sample>
    void add(const Sample& c) {
        oncpu_ns += c.oncpu_ns;
        vol_switches += c.vol_switches;
        runq_waits += c.runq_waits;
        runq_wait_ns += c.runq_wait_ns;
        runq_hist.merge(c.runq_hist);
    }
    std::string name() const {
        return pid ? "process " + std::to_string(pid) + " (" + comm + ")" : "cgroup " + path;
    }

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
std::vector<Placement> candidates(const SchedWindow& c) {
    std::vector<Placement> out;
    if (c.hierarchy == "v2" && usable(c.path))
        out.push_back({cgroup_knob(kWeight, c.path), c.path});
    else if (c.hierarchy == "cpu" && usable(c.path))
        out.push_back({cgroup_knob(kShares, c.path), c.path});
    if (c.hierarchy != "cpu" && usable(c.v1_cpu_path))
        out.push_back({cgroup_knob(kShares, c.v1_cpu_path), c.v1_cpu_path});
    return out;
}

// Rates over the whole window: an interval a cgroup or process is absent from, it ran
// nothing.
template <typename Key>
std::vector<SchedWindow> rated(std::map<Key, SchedWindow>& by_key,
                               std::span<const Snapshot> window) {
    const double secs = window_seconds(window);
    std::vector<SchedWindow> out;
    for (auto& [key, w] : by_key) {
        w.seconds = secs;
        out.push_back(std::move(w));
    }
    return out;
}

std::vector<SchedWindow> per_cgroup(std::span<const Snapshot> window) {
    std::map<std::pair<std::string, std::string>, SchedWindow> by_key;
    for (const Snapshot& s : window) {
        for (const CgroupSample& c : s.cgroups) {
            SchedWindow& w = by_key[{c.hierarchy, c.path}];
            w.path = c.path;
            w.hierarchy = c.hierarchy;
            if (!c.v1_cpu_path.empty()) w.v1_cpu_path = c.v1_cpu_path;
            w.add(c);
        }
    }
    return rated(by_key, window);
}

std::vector<SchedWindow> per_process(std::span<const Snapshot> window) {
    std::map<int, SchedWindow> by_pid;
    for (const Snapshot& s : window) {
        for (const ProcessSample& p : s.processes) {
            SchedWindow& w = by_pid[p.pid];
            w.pid = p.pid;
            w.comm = p.comm;
            w.path = p.cgroup;
            w.add(p);
        }
    }
    return rated(by_pid, window);
}

class CpuShareTuner : public Tuner {
  public:
    explicit CpuShareTuner(CpuShareConfig c) : c_(std::move(c)) {}
    std::string_view name() const override { return "cpu-share"; }
    std::string_view summary() const override {
        return "cpu.weight (v2) / cpu.shares (v1) of a latency-sensitive cgroup that waits for "
               "the CPU behind a CPU-bound sibling, or the nice of a process named by --pid "
               "behind a CPU-bound process of its cgroup; lowered back when the pressure is gone";
    }
    std::set<std::string> families() const override { return {"sched"}; }

    std::vector<KnobId> wants(const TunerInput& in) const override {
        std::vector<KnobId> out;
        for (const SchedWindow& c : per_cgroup(in.window)) {
            if (!latency_sensitive(c)) continue;
            for (const Placement& p : candidates(c))
                if (in.allows(p.knob.scope)) out.push_back(p.knob);
        }
        if (!names_pids(in)) return out;
        for (const SchedWindow& p : per_process(in.window))
            if (in.allows(Scope::pid(p.pid)) && latency_sensitive(p))
                out.push_back(nice_knob(p.pid));
        return out;
    }

    std::vector<Recommendation> decide(const TunerInput& in) const override {
        std::vector<Recommendation> out;
        if (in.window.size() < c_.min_intervals) return out;
        const std::vector<SchedWindow> all = per_cgroup(in.window);
        for (const SchedWindow& c : all) {
            if (!latency_sensitive(c)) continue;
            auto p = placement(in, c);
            if (!p || !in.allows(p->knob.scope)) continue;
            auto cur = in.int_knob(p->knob);
            if (!cur) continue;
            const SchedWindow* hog = competitor(all, c, *p);
            if (hog) {
                if (auto r = raise(c, *p, *cur, *hog)) out.push_back(std::move(*r));
            } else if (auto r = lower(c, *p, *cur)) {
                out.push_back(std::move(*r));
            }
        }
        if (!names_pids(in)) return out;
        const std::vector<SchedWindow> everyone = per_process(in.window);
        for (const SchedWindow& p : everyone) {
            if (!in.allows(Scope::pid(p.pid)) || !latency_sensitive(p)) continue;
            auto cur = in.int_knob(nice_knob(p.pid));
            if (!cur) continue;
            if (const SchedWindow* hog = process_competitor(everyone, p)) {
                if (auto r = raise_priority(p, *cur, *hog)) out.push_back(std::move(*r));
            } else if (auto r = lower_priority(p, *cur)) {
                out.push_back(std::move(*r));
            }
        }
        return out;
    }

  private:
    static KnobId nice_knob(int pid) { return {KnobKind::nice, kNice, Scope::pid(pid)}; }
    // nice is tuned only for processes a --pid filter names: a process's priority is its
    // owner's choice, not to be changed for every sleeper the machine has.
    static bool names_pids(const TunerInput& in) { return in.filter && !in.filter->pids.empty(); }
    // The CPU-bound process of the same cgroup that takes the most CPU, or null: nice
    // divides the CPU among the tasks of one cgroup only.
    const SchedWindow* process_competitor(const std::vector<SchedWindow>& all,
                                          const SchedWindow& p) const {
        const SchedWindow* best = nullptr;
        for (const SchedWindow& o : all)
            if (o.pid != p.pid && o.path == p.path && cpu_bound(o) &&
                (!best || o.oncpu_ns > best->oncpu_ns))
                best = &o;
        return best;
    }

    // The raise condition: it waits, much against its own run time, with a tail.
    bool starved(const SchedWindow& c) const {
        return c.wait_ms_per_s() >= c_.raise_wait_ms_per_s &&
               c.wait_per_run() >= c_.raise_wait_per_run && c.p99_us() >= c_.raise_p99_us;
    }
    // The lower condition. Either says the waits are gone: one that runs much also meets
    // stray waits (kernel threads on its CPU) that are nothing beside its run time.
    bool calm(const SchedWindow& c) const {
        return c.wait_ms_per_s() <= c_.lower_wait_ms_per_s ||
               c.wait_per_run() <= c_.lower_wait_per_run;
    }
    // Quotes evidence(c, ...) and competitor_evidence(hog).
    std::string waits_behind(const SchedWindow& c, const SchedWindow& hog) const {
        return c.name() + (configured(c) ? " (configured latency-sensitive)" : "") +
               " waits {runq_wait_ms_per_s} for the CPU (run-queue p99 {runq_lat_p99_us}, bursts "
               "of {burst_avg_us}) behind CPU-bound " +
               (hog.pid ? hog.name() : hog.path) +
               " ({competitor_oncpu_cpus}, bursts of {competitor_burst_avg_us})";
    }
    static void add_competitor(EvidenceList& ev, const SchedWindow& hog) {
        ev.push_back({"competitor_oncpu_cpus", hog.cpus(), Unit::cpus});
        ev.push_back({"competitor_burst_avg_us", hog.burst_us(), Unit::us});
    }

    std::optional<Recommendation> raise_priority(const SchedWindow& p, int64_t cur,
                                                 const SchedWindow& hog) const {
        if (cur <= c_.nice_floor || !starved(p)) return std::nullopt;
        Recommendation r;
        r.knob = nice_knob(p.pid);
        r.current = std::to_string(cur);
        r.proposed = std::to_string(std::max(c_.nice_floor, cur - c_.nice_step));
        r.direction = -1;
        r.evidence = evidence(p, kNice, cur);
        add_competitor(r.evidence, hog);
        r.reason = waits_behind(p, hog) + " in cgroup " + p.path;
        r.expected =
            "the scheduler runs its wakeups sooner: less run-queue wait, little CPU "
            "taken from " +
            hog.name();
        r.target = process_metric(ProcessMetric::runq_wait_ms_per_s, p.pid);
        r.guard = process_metric(ProcessMetric::oncpu_s_per_s, hog.pid);
        return r;
    }

    std::optional<Recommendation> lower_priority(const SchedWindow& p, int64_t cur) const {
        if (cur >= 0 || !calm(p)) return std::nullopt;  // 0: the default; above it, not ours
        Recommendation r;
        r.knob = nice_knob(p.pid);
        r.current = std::to_string(cur);
        r.proposed = std::to_string(std::min<int64_t>(0, cur + c_.nice_step));
        r.direction = +1;
        r.evidence = evidence(p, kNice, cur);
        r.reason = p.name() + " has no CPU-bound process beside it in cgroup " + p.path +
                   " and waits only {runq_wait_ms_per_s} for the CPU; nice {nice} is below the "
                   "default 0";
        r.expected = "its cgroup mates get their share back; its own waits stay low";
        r.target = process_metric(ProcessMetric::cgroup_mates_runq_wait_ms_per_s, p.pid);
        r.guard = process_metric(ProcessMetric::runq_wait_ms_per_s, p.pid);
        return r;
    }

    bool configured(const SchedWindow& c) const {
        return std::find(c_.latency_sensitive.begin(), c_.latency_sensitive.end(), c.path) !=
               c_.latency_sensitive.end();
    }
    bool latency_sensitive(const SchedWindow& c) const {
        if (configured(c)) return true;
        return c.vol_switches > 0 && c.burst_us() <= c_.max_burst_us &&
               c.wakeups_per_s() >= c_.min_wakeups_per_s;
    }
    bool cpu_bound(const SchedWindow& c) const {
        return c.burst_us() >= c_.min_hog_burst_us && c.cpus() >= c_.min_hog_cpu &&
               c.wakeups_per_s() <= c_.max_hog_switches_per_s;
    }

    // The first candidate knob that could be read.
    static std::optional<Placement> placement(const TunerInput& in, const SchedWindow& c) {
        for (const Placement& p : candidates(c))
            if (in.int_knob(p.knob)) return p;
        return std::nullopt;
    }
    // Where `other` sits in the hierarchy of `mine` (nullopt: not in it).
    static std::optional<std::string> path_in(const SchedWindow& other, const Placement& mine) {
        for (const Placement& p : candidates(other))
            if (p.knob.key == mine.knob.key) return p.path;
        return std::nullopt;
    }

    // The CPU-bound sibling that takes the most CPU, or null.
    const SchedWindow* competitor(const std::vector<SchedWindow>& all, const SchedWindow& c,
                                  const Placement& mine) const {
        const SchedWindow* best = nullptr;
        for (const SchedWindow& o : all) {
            if (&o == &c || !cpu_bound(o)) continue;
            auto at = path_in(o, mine);
            if (!at || *at == mine.path || cgroup_parent(*at) != cgroup_parent(mine.path)) continue;
            if (!best || o.oncpu_ns > best->oncpu_ns) best = &o;
        }
        return best;
    }

    static int64_t default_of_key(const std::string& key) {
        return key == kWeight ? kDefaultWeight : key == kShares ? kDefaultShares : 0;
    }
    int64_t default_of(const Placement& p) const { return default_of_key(p.knob.key); }
    int64_t ceiling_of(const Placement& p) const {
        return p.knob.key == kWeight ? c_.weight_ceiling : c_.shares_ceiling;
    }

    static EvidenceList evidence(const SchedWindow& c, const std::string& knob_key, int64_t cur) {
        return {{"runq_wait_ms_per_s", c.wait_ms_per_s(), Unit::ms_per_s},
                {"runq_wait_per_oncpu", c.wait_per_run(), Unit::share},
                {"runq_lat_p99_us", c.p99_us(), Unit::us},
                {"burst_avg_us", c.burst_us(), Unit::us},
                {"wakeups_per_s", c.wakeups_per_s(), Unit::per_s},
                {"oncpu_cpus", c.cpus(), Unit::cpus},
                {knob_key, double(cur), Unit::none},
                {"default_" + knob_key, double(default_of_key(knob_key)), Unit::none}};
    }

    std::optional<Recommendation> raise(const SchedWindow& c, const Placement& p, int64_t cur,
                                        const SchedWindow& hog) const {
        const int64_t ceiling = ceiling_of(p);
        if (cur >= ceiling) return std::nullopt;
        if (!starved(c)) return std::nullopt;
        const int64_t to = step_up(cur, c_.step_factor, ceiling);
        Recommendation r;
        r.knob = p.knob;
        r.current = std::to_string(cur);
        r.proposed = std::to_string(to);
        r.direction = +1;
        r.evidence = evidence(c, p.knob.key, cur);
        add_competitor(r.evidence, hog);
        r.reason = waits_behind(c, hog);
        r.expected =
            "the scheduler runs its wakeups sooner: less run-queue wait, little CPU "
            "taken from " +
            hog.path;
        r.target = cgroup_metric(CgroupMetric::runq_wait_ms_per_s, c.path, c.hierarchy);
        r.guard = cgroup_metric(CgroupMetric::oncpu_s_per_s, hog.path, hog.hierarchy);
        return r;
    }

    std::optional<Recommendation> lower(const SchedWindow& c, const Placement& p,
                                        int64_t cur) const {
        const int64_t def = default_of(p);
        if (cur <= def) return std::nullopt;
        if (!calm(c)) return std::nullopt;
        const auto to = static_cast<int64_t>(std::floor(double(cur) / c_.step_factor));
        Recommendation r;
        r.knob = p.knob;
        r.current = std::to_string(cur);
        r.proposed = std::to_string(std::max(def, to));
        r.direction = -1;
        r.evidence = evidence(c, p.knob.key, cur);
        r.reason = "cgroup " + c.path + " has no CPU-bound sibling and waits only " +
                   "{runq_wait_ms_per_s} for the CPU; " + p.knob.key + " {" + p.knob.key +
                   "} is above the default {default_" + p.knob.key + "}";
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
