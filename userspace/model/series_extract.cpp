#include "model/series_extract.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <type_traits>
#include <variant>

namespace perfbpf {

namespace {

std::string element_name(std::string_view array, size_t i) {
    return joined_name(array, std::to_string(i));
}

// Calls leaf(name, help_prefix, field, value) for every metric field of s, with nested
// structs' fields named by their joined path. `all`: walk absent structs too (for the list
// of names, from a default-constructed struct).
template <Catalogued S, class Leaf>
void walk(const S& s, bool all, const std::string& prefix, const std::string& help_prefix,
          Leaf&& leaf) {
    if (!all && !present(s)) return;
    for (const auto& f : fields<S>()) {
        std::string name = prefix.empty() ? std::string(f.name) : joined_name(prefix, f.name);
        // Only a nested struct's fields need it: made for every leaf of every process each
        // interval, it was about a tenth of snapshot_series' time at 0.1 s.
        const auto inner_help = [&] { return help_prefix + std::string(f.help) + ": "; };
        visit_field(f, s, [&](const auto& v) {
            using T = std::remove_cvref_t<decltype(v)>;
            if constexpr (Catalogued<T>) {
                walk(v, all, name, inner_help(), leaf);
            } else if constexpr (std::is_same_v<T, std::optional<PsiLine>>) {
                if (v || all) walk(v.value_or(PsiLine{}), all, name, inner_help(), leaf);
            } else {
                if (metric_kind(f.kind)) leaf(name, help_prefix, f, v);
            }
        });
    }
}

SeriesSample sample(std::string name, Labels labels, MetricKind kind, double value) {
    SeriesSample s;
    s.key = SeriesKey{std::move(name), std::move(labels)};
    s.kind = kind;
    s.value = value;
    return s;
}

// Turns leaves into series with the object's labels.
struct Emitter {
    const Labels& labels;
    std::vector<SeriesSample>& out;
    bool summing = false;  // for the `other` processes: leave out what does not add up

    template <class S, class T>
    void operator()(const std::string& name, const std::string&, const Field<S>& f,
                    const T& v) const {
        const MetricKind kind = *metric_kind(f.kind);
        if (summing && kind == MetricKind::gauge && f.unit == "us") return;
        if constexpr (std::is_same_v<T, Log2Histogram>) {
            out.push_back(sample(name, labels, kind, 0));
            out.back().hist = v;
        } else if constexpr (std::is_same_v<T, std::optional<uint64_t>>) {
            if (v) out.push_back(sample(name, labels, kind, static_cast<double>(*v)));
        } else if constexpr (std::is_same_v<T, CountMap>) {
            for (const auto& [key, n] : v) {
                Labels l = labels;
                l.emplace_back(std::string(f.key_label), key);
                std::sort(l.begin(), l.end());
                out.push_back(sample(name, std::move(l), kind, static_cast<double>(n)));
            }
        } else if constexpr (std::is_array_v<T>) {
            for (size_t i = 0; i < std::extent_v<T>; ++i)
                out.push_back(sample(element_name(name, i), labels, kind, v[i]));
        } else if constexpr (std::is_arithmetic_v<T>) {
            out.push_back(sample(name, labels, kind, static_cast<double>(v)));
        }
    }
};

template <Catalogued S>
void emit(const S& s, const Labels& labels, std::vector<SeriesSample>& out, bool summing = false) {
    walk(s, false, "", "", Emitter{labels, out, summing});
}

Labels process_labels(const ProcessSample& p) {
    return {{"cgroup", p.cgroup},
            {"comm", p.comm},
            {"pid", std::to_string(p.pid)},
            {"start", std::to_string(p.start_time_ticks)}};
}

// Marks the top `n` processes by `measure` (those above 0).
template <class Measure>
void keep_top(const std::vector<ProcessSample>& ps, size_t n, Measure measure,
              std::vector<bool>& keep) {
    std::vector<size_t> order(ps.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return measure(ps[a]) > measure(ps[b]); });
    for (size_t i = 0; i < order.size() && i < n; ++i)
        if (measure(ps[order[i]]) > 0) keep[order[i]] = true;
}

std::vector<bool> kept_processes(const std::vector<ProcessSample>& ps, const SeriesPolicy& pol,
                                 uint64_t end_monotonic_ns) {
    std::vector<bool> keep(ps.size(), false);
    const size_t n = pol.top_processes;
    keep_top(
        ps, n, [](const ProcessSample& p) { return p.cpu_pct; }, keep);
    keep_top(
        ps, n, [](const ProcessSample& p) { return p.read_bytes + p.write_bytes; }, keep);
    keep_top(
        ps, n, [](const ProcessSample& p) { return p.tcp_tx_bytes + p.tcp_rx_bytes; }, keep);
    keep_top(
        ps, n, [](const ProcessSample& p) { return p.rss_bytes; }, keep);
    keep_top(
        ps, n, [](const ProcessSample& p) { return p.rss_growth_bytes; }, keep);
    if (pol.min_age_s > 0)
        for (size_t i = 0; i < ps.size(); ++i)
            if (keep[i] && process_age_s(ps[i], end_monotonic_ns) < pol.min_age_s) keep[i] = false;
    for (size_t i = 0; i < ps.size(); ++i)
        if (std::ranges::find(pol.watch, ps[i].comm) != pol.watch.end()) keep[i] = true;
    return keep;
}

// Adds p's metric fields into sum as the `other` series add them up: numbers summed,
// histograms merged, an optional set when either is set, maps summed key by key. The
// process struct holds no nested structs (SeriesExtract.ProcessesHoldOnlyFieldsOtherCanSum).
void add_metrics(ProcessSample& sum, const ProcessSample& p) {
    for (const auto& f : fields<ProcessSample>()) {
        if (!metric_kind(f.kind)) continue;
        std::visit(
            [&](auto m) {
                auto& to = sum.*m;
                const auto& v = p.*m;
                using T = std::remove_cvref_t<decltype(v)>;
                if constexpr (std::is_same_v<T, Log2Histogram>) {
                    to.merge(v);
                } else if constexpr (std::is_same_v<T, std::optional<uint64_t>>) {
                    if (v) to = to.value_or(0) + *v;
                } else if constexpr (std::is_same_v<T, CountMap>) {
                    for (const auto& [key, n] : v) to[key] += n;
                } else if constexpr (std::is_array_v<T>) {
                    for (size_t i = 0; i < std::extent_v<T>; ++i) to[i] += v[i];
                } else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
                    to += v;
                }
            },
            f.member);
    }
}

void emit_processes(const std::vector<ProcessSample>& ps, const SeriesPolicy& pol,
                    uint64_t end_monotonic_ns, std::vector<SeriesSample>& out) {
    const std::vector<bool> keep = kept_processes(ps, pol, end_monotonic_ns);
    // The rest are added up field by field and emitted once: emitted one by one and summed
    // by key, they cost a set of series (names, labels, a map lookup each) per process, the
    // larger half of snapshot_series at 0.1 s.
    ProcessSample other;
    bool any_other = false;
    for (size_t i = 0; i < ps.size(); ++i) {
        if (keep[i]) {
            emit(ps[i], process_labels(ps[i]), out);
            continue;
        }
        add_metrics(other, ps[i]);
        any_other = true;
    }
    if (!any_other) return;
    const size_t first = out.size();
    emit(other, {{"comm", "other"}}, out, true);
    // In key order, as they were when summed in a map.
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const SeriesSample& a, const SeriesSample& b) { return a.key < b.key; });
}

template <Catalogued S>
void add_names(std::vector<FieldInfo>& out) {
    walk(
        S{}, true, "", "",
        [&](const std::string& name, const std::string& help_prefix, const auto& f, const auto& v) {
            using T = std::remove_cvref_t<decltype(v)>;
            FieldInfo info{
                name,          f.unit,     *metric_kind(f.kind), help_prefix + std::string(f.help),
                *object_of<S>, f.key_label};
            info.can_decrease =
                info.kind == MetricKind::counter && std::is_integral_v<T> && std::is_signed_v<T>;
            if constexpr (std::is_array_v<T>) {
                for (size_t i = 0; i < std::extent_v<T>; ++i) {
                    out.push_back(info);
                    out.back().name = element_name(name, i);
                }
            } else {
                out.push_back(std::move(info));
            }
        });
}

}  // namespace

double process_age_s(const ProcessSample& p, uint64_t end_monotonic_ns) {
    // A start time of 0: /proc never showed the process (it came and went within one
    // interval), so it is as young as can be.
    if (p.start_time_ticks == 0) return 0;
    // USER_HZ: /proc reports start times in 1/100 s on every Linux architecture.
    constexpr double kTicksPerSecond = 100;
    return static_cast<double>(end_monotonic_ns) / 1e9 -
           static_cast<double>(p.start_time_ticks) / kTicksPerSecond;
}

std::vector<SeriesSample> snapshot_series(const Snapshot& s, const SeriesPolicy& policy) {
    std::vector<SeriesSample> out;
    emit(s.system, {}, out);
    for (const auto& c : s.cpus) emit(c, {{"cpu", std::to_string(c.cpu)}}, out);
    emit_processes(s.processes, policy, s.end_monotonic_ns, out);
    for (const auto& c : s.cgroups) emit(c, {{"cgroup", c.path}}, out);
    for (const auto& d : s.devices) emit(d, {{"device", d.name}}, out);
    for (const auto& n : s.netns)
        emit(n, {{"netns", n.name.empty() ? std::to_string(n.inode) : n.name}}, out);
    for (const auto& f : s.filesystems)
        emit(f, {{"device", f.device}, {"mountpoint", f.mountpoint}}, out);
    return out;
}

const std::vector<FieldInfo>& metric_catalogue() {
    static const std::vector<FieldInfo> all = [] {
        std::vector<FieldInfo> out;
        add_names<SystemSample>(out);
        add_names<CpuSample>(out);
        add_names<ProcessSample>(out);
        add_names<CgroupSample>(out);
        add_names<DeviceSample>(out);
        add_names<NetnsSample>(out);
        add_names<FilesystemSample>(out);
        return out;
    }();
    return all;
}

const FieldInfo* find_metric(std::string_view name) {
    const auto& all = metric_catalogue();
    auto it = std::ranges::find(all, name, &FieldInfo::name);
    return it == all.end() ? nullptr : &*it;
}

const FieldInfo* find_metric(std::string_view name, ObjectKind object) {
    for (const auto& f : metric_catalogue())
        if (f.name == name && f.object == object) return &f;
    return nullptr;
}

int stored_decimals(std::string_view metric) {
    const FieldInfo* f = find_metric(metric);
    if (!f || f->kind == MetricKind::histogram) return -1;
    // Time the kernel counts in ns is read in µs: the last three digits are noise a
    // reader never sees, and cost a process's oncpu/offcpu/runq_wait ~1.2 bytes a point.
    if (f->unit == "ns") return -3;
    if (f->kind != MetricKind::gauge && f->kind != MetricKind::level) return -1;
    static constexpr std::pair<std::string_view, int> kByUnit[] = {
        {"pct", 2}, {"tasks", 2}, {"count", 2}, {"us", 1}, {"segs", 1}, {"bytes", 0}};
    for (const auto& [unit, decimals] : kByUnit)
        if (f->unit == unit) return decimals;
    return -1;
}

}  // namespace perfbpf
