#include "tune/tuners/memory.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "tune/metrics.h"
#include "util/files.h"

namespace perfbpf::tune {
namespace {

constexpr const char* kHigh = "memory.high";
constexpr const char* kSwappiness = "vm.swappiness";
constexpr uint64_t kPage = 4096;

KnobId high_knob(const std::string& path) {
    return {KnobKind::cgroup, kHigh, Scope::cgroup(path)};
}
// memory.high's lower bound and largest step, as the allowlist has them.
const KnobSpec& high_spec() {
    static const KnobSpec& spec = *find_knob_spec(KnobKind::cgroup, kHigh);
    return spec;
}
KnobId swappiness_knob() {
    return sysctl_knob(kSwappiness, Scope::host());
}

uint64_t page_down(double bytes) {
    return bytes <= 0 ? 0 : uint64_t(bytes) / kPage * kPage;
}
uint64_t page_up(uint64_t bytes) {
    return (bytes + kPage - 1) / kPage * kPage;
}

// One cgroup over the window: sums of its interval events, the mean PSI, its last levels.
struct CgroupWindow {
    CgroupSample last;
    size_t intervals = 0, psi_intervals = 0;
    double psi_some_sum = 0, seconds = 0;
    uint64_t refault_pages = 0, majfaults = 0, high_events = 0;

    double psi_some_pct() const { return psi_intervals ? psi_some_sum / psi_intervals : 0; }
};

// The cgroups of the window a --cgroup filter names (memory.high is tuned only on request).
std::map<std::string, CgroupWindow> per_cgroup(const TunerInput& in) {
    std::map<std::string, CgroupWindow> out;
    if (!in.filter || in.filter->cgroups.empty()) return out;
    for (const Snapshot& s : in.window) {
        for (const CgroupSample& c : s.cgroups) {
            if (c.path.empty() || c.path == "/" || !in.allows(Scope::cgroup(c.path))) continue;
            CgroupWindow& w = out[c.path];
            w.last = c;
            ++w.intervals;
            w.seconds += interval_seconds(s);
            if (c.psi_memory.available) {
                ++w.psi_intervals;
                w.psi_some_sum += c.psi_memory.some.interval_pct;
            }
            w.refault_pages += c.memory.workingset_refault_anon.value_or(0) +
                               c.memory.workingset_refault_file.value_or(0);
            w.majfaults += c.memory.pgmajfault;
            w.high_events += c.memory.high_events.value_or(0);
        }
    }
    return out;
}

bool is_v2(const CgroupSample& c) {
    return c.hierarchy == "v2" && c.memory.source == "v2";
}

// Why memory.high cannot be tuned for this cgroup ("" when it can).
std::string unavailable_reason(const CgroupWindow& w) {
    const CgroupSample& c = w.last;
    if (c.hierarchy != "v2")
        return "memory.high needs cgroup v2; " + c.path + " is in the v1 " + c.hierarchy +
               " hierarchy";
    if (c.memory.source == "v1")  // hybrid host: the memory controller is mounted on v1
        return "memory.high needs cgroup v2; the memory controller of " + c.path +
               " is on v1 (hybrid host)";
    if (c.memory.source.empty())
        return "no memory data for " + c.path +
               (c.memory.unavailable.empty() ? "" : ": " + c.memory.unavailable);
    if (w.psi_intervals == 0)
        return "no memory pressure (PSI) for " + c.path +
               (c.psi_unavailable.empty() ? "" : ": " + c.psi_unavailable);
    return {};
}

class MemoryTuner : public Tuner {
  public:
    explicit MemoryTuner(MemoryConfig c) : c_(c) {}
    std::string_view name() const override { return "memory"; }
    std::string_view summary() const override {
        return "memory.high of cold cgroups named by --cgroup, lowered step by step while their "
               "memory pressure stays low, relaxed at once when it rises (v2); vm.swappiness "
               "from refaults, swap-ins and major faults (host)";
    }
    // Cgroup memory, PSI and vmstat come from cgroupfs and procfs, read every interval.
    std::set<std::string> families() const override { return {}; }

    std::vector<KnobId> wants(const TunerInput& in) const override {
        std::vector<KnobId> out;
        if (in.allows(Scope::host())) out.push_back(swappiness_knob());
        for (const auto& [path, w] : per_cgroup(in))
            if (is_v2(w.last)) out.push_back(high_knob(path));
        return out;
    }

    std::vector<Recommendation> decide(const TunerInput& in) const override {
        std::vector<Recommendation> out;
        if (in.window.size() < c_.min_intervals) return out;
        const bool has_swap = in.window.back().system.swap_total_bytes > 0;
        for (const auto& [path, w] : per_cgroup(in)) {
            if (w.intervals < c_.min_intervals) continue;
            if (auto why = unavailable_reason(w); !why.empty()) {
                Recommendation r;
                r.knob = high_knob(path);
                r.unavailable = why;
                r.reason = why;
                out.push_back(std::move(r));
                continue;
            }
            if (auto r = memory_high(in, path, w, has_swap)) out.push_back(std::move(*r));
        }
        if (auto r = swappiness(in)) out.push_back(std::move(*r));
        return out;
    }

  private:
    std::optional<Recommendation> memory_high(const TunerInput& in, const std::string& path,
                                              const CgroupWindow& w, bool has_swap) const {
        const KnobId id = high_knob(path);
        const KnobValue* v = in.knob(id);
        if (!v) return std::nullopt;
        const std::string cur_text(trim(v->value));
        std::optional<uint64_t> high;  // nullopt: "max"
        if (cur_text != "max") {
            auto n = in.int_knob(id);
            if (!n || *n <= 0) return std::nullopt;
            high = uint64_t(*n);
        }
        const CgroupMemory& m = w.last.memory;
        const uint64_t current = m.current_bytes;
        const double psi = w.psi_some_pct();
        const uint64_t total = m.anon_bytes + m.file_bytes;
        const uint64_t inactive = m.inactive_file_bytes + (has_swap ? m.inactive_anon_bytes : 0);
        const double cold = total ? double(inactive) / double(total) : 0;
        const double refault_share =
            current ? double(w.refault_pages * kPage) / double(current) : 0;
        const double majfault_per_s = w.seconds > 0 ? double(w.majfaults) / w.seconds : 0;

        Recommendation r;
        r.knob = id;
        r.current = cur_text;
        r.evidence = {{"psi_memory_some_pct", psi, Unit::pct},
                      {"memory_current_bytes", double(current), Unit::bytes},
                      {"inactive_share", cold, Unit::share},
                      {"refault_share", refault_share, Unit::share},
                      {"major_faults_per_s", majfault_per_s, Unit::per_s},
                      {"memory_high_events", double(w.high_events), Unit::count},
                      {"relax_psi_pct", c_.relax_psi_pct, Unit::pct},
                      {"target_psi_pct", c_.target_psi_pct, Unit::pct}};
        if (high) r.evidence.push_back({"memory_high_bytes", double(*high), Unit::bytes});
        if (psi > c_.relax_psi_pct) {
            // Relaxed only when the limit is what stalls it: use went over memory.high in
            // the window. Host-wide pressure, or throttling sleeps the kernel imposed before
            // the limit was raised (up to 2 s each) that outlast the raise, are not ours to
            // answer with a higher limit.
            if (!high || w.high_events == 0) return std::nullopt;
            r.proposed = std::to_string(page_down(double(*high) * c_.relax_factor));
            r.direction = +1;
            r.relief = true;
            r.reason =
                "memory pressure {psi_memory_some_pct} (above {relax_psi_pct}) with use over "
                "memory.high {memory_high_bytes} {memory_high_events} times: relaxing at once";
            r.expected = "fewer memory stalls in " + path;
            r.target = cgroup_psi_memory_some_pct(path);
            r.guard = cgroup_memory_current_bytes(path);
            return r;
        }
        if (psi > c_.target_psi_pct || current < c_.min_current_bytes) return std::nullopt;
        if (cold < c_.cold_share || refault_share > c_.max_refault_share ||
            majfault_per_s > c_.max_majfault_per_s)
            return std::nullopt;
        uint64_t to = page_down(double(current) * (1 - c_.step_share));
        const KnobSpec& spec = high_spec();
        to = std::max({to, page_up(c_.floor_bytes), uint64_t(spec.min)});
        if (high) to = std::max(to, page_up(uint64_t(double(*high) / spec.max_step_ratio)));
        if (to >= current || (high && to >= *high)) return std::nullopt;
        r.proposed = std::to_string(to);
        r.direction = -1;
        r.reason = "{inactive_share} of " + path + "'s memory is inactive" +
                   (has_swap ? "" : " page cache") +
                   " and its memory pressure is {psi_memory_some_pct} (target {target_psi_pct}): "
                   "lowering memory.high under its use of {memory_current_bytes}";
        r.expected = "cold pages reclaimed: memory.current falls without more memory stalls";
        r.target = cgroup_memory_current_bytes(path);
        r.guard = cgroup_psi_memory_some_pct(path);
        return r;
    }

    std::optional<Recommendation> swappiness(const TunerInput& in) const {
        if (!in.allows(Scope::host())) return std::nullopt;
        if (in.window.back().system.swap_total_bytes == 0) return std::nullopt;
        auto cur = in.int_knob(swappiness_knob());
        if (!cur) return std::nullopt;
        uint64_t file = 0, anon = 0, swapins = 0, majfaults = 0;
        for (const Snapshot& s : in.window) {
            file += s.system.workingset_refault_file;
            anon += s.system.workingset_refault_anon;
            swapins += s.system.pages_swapped_in;
            majfaults += s.system.major_faults;
        }
        const double secs = window_seconds(in.window);
        const double file_per_s = double(file) / secs;
        const double anon_per_s = double(anon + swapins) / secs;
        const double majfault_per_s = double(majfaults) / secs;
        Recommendation r;
        r.knob = swappiness_knob();
        r.current = std::to_string(*cur);
        r.evidence = {{"file_refaults_per_s", file_per_s, Unit::per_s},
                      {"anon_refaults_and_swapins_per_s", anon_per_s, Unit::per_s},
                      {"major_faults_per_s", majfault_per_s, Unit::per_s},
                      {"swappiness", double(*cur), Unit::none}};
        r.guard = psi_memory_some_pct();
        // swappiness acts through reclaim: the refaults fall only once reclaim has moved the
        // cold anonymous memory out (or, lowered, kept it in) over several passes. In
        // tests/vm/tune_swappiness.sh the page-cache refaults stayed at 35-45k/s for 3.9 s
        // after 0 -> 20 (4.6 s beside an ASan-built perfbpf) while 34 MiB were swapped out,
        // then were 0; verifying from the next interval on took that transition for the
        // change's effect and reverted it as noise.
        r.settle_s = 8;
        if (file_per_s >= c_.min_refaults_per_s && anon_per_s <= c_.cold_anon_ratio * file_per_s) {
            if (*cur >= c_.max_swappiness) return std::nullopt;
            r.proposed =
                std::to_string(std::min<int64_t>(*cur + c_.swappiness_step, c_.max_swappiness));
            r.direction = +1;
            r.reason =
                "{file_refaults_per_s} page-cache refaults while anonymous memory stays out "
                "({anon_refaults_and_swapins_per_s} anon refaults + swap-ins)";
            r.expected = "reclaim takes more cold anonymous memory: fewer page-cache refaults";
            r.target = refaults_file_per_s();
            return r;
        }
        if (anon_per_s >= c_.min_refaults_per_s && anon_per_s >= file_per_s &&
            majfault_per_s >= c_.min_majfault_per_s) {
            if (*cur <= c_.min_swappiness) return std::nullopt;
            r.proposed =
                std::to_string(std::max<int64_t>(*cur - c_.swappiness_step, c_.min_swappiness));
            r.direction = -1;
            r.reason =
                "{anon_refaults_and_swapins_per_s} anon refaults + swap-ins (page cache "
                "{file_refaults_per_s}) and {major_faults_per_s} major faults";
            r.expected = "swapped-out memory that is needed back stays in: fewer major faults";
            r.target = major_faults_per_s();
            return r;
        }
        return std::nullopt;
    }

    MemoryConfig c_;
};

}  // namespace

std::unique_ptr<Tuner> make_memory_tuner(MemoryConfig config) {
    return std::make_unique<MemoryTuner>(config);
}

}  // namespace perfbpf::tune
