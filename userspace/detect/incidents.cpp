#include "detect/incidents.h"

#include <algorithm>
#include <array>

namespace perfbpf {
namespace {

std::string_view label(const SeriesKey& k, std::string_view name) {
    for (const auto& [n, v] : k.labels)
        if (n == name) return v;
    return {};
}

bool has_label(const SeriesKey& k, std::string_view name) {
    return std::ranges::any_of(k.labels, [&](const auto& l) { return l.first == name; });
}

bool starts_any(std::string_view m, std::initializer_list<std::string_view> prefixes) {
    return std::ranges::any_of(prefixes, [&](std::string_view p) { return m.starts_with(p); });
}

bool contains_any(std::string_view m, std::initializer_list<std::string_view> parts) {
    return std::ranges::any_of(parts, [&](std::string_view p) { return m.find(p) != m.npos; });
}

// Host-wide: the system's series, and those of a CPU, a device or a network namespace,
// which every process and cgroup shares.
bool host_wide(const SeriesKey& k) {
    return std::ranges::all_of(k.labels, [](const auto& l) {
        return l.first == "cpu" || l.first == "device" || l.first == "netns";
    });
}

bool cgroup_within(std::string_view inner, std::string_view outer) {
    if (!inner.starts_with(outer)) return false;
    return inner.size() == outer.size() || outer.ends_with('/') || inner[outer.size()] == '/';
}

// A series stays anomalous for a while in band before it ends: its incident's end is the
// last interval it was out.
bool out_of_band(const Scoring& s) {
    return s.scored && (s.observed < s.band_low || s.observed > s.band_high);
}

}  // namespace

// The order matters where names overlap: cpu_iowait_pct is io, not cpu; a netns's
// memory_pressures are the network stack's.
Resource resource_of(const SeriesKey& key) {
    const std::string_view m = key.metric;
    if (has_label(key, "netns")) return Resource::net;
    if (has_label(key, "device")) return Resource::io;
    if (m.starts_with("psi_cpu")) return Resource::cpu;
    if (m.starts_with("psi_memory")) return Resource::memory;
    if (m.starts_with("psi_io")) return Resource::io;
    if (starts_any(m, {"tcp_", "packet_", "softnet_"})) return Resource::net;
    if (starts_any(m, {"read_", "write_", "io_", "lat_", "other_ios", "inflight_max", "util_pct",
                       "avg_queue_depth", "cpu_iowait_pct"}))
        return Resource::io;
    if (has_label(key, "cpu") ||
        starts_any(m, {"cpu_", "oncpu", "offcpu", "runq_", "burst_", "busy_pct", "nr_running",
                       "loadavg", "running", "context_switches", "total_tasks"}) ||
        m.ends_with("_switches"))
        return Resource::cpu;
    if (starts_any(m, {"rss_", "mem_", "memory_", "swap_", "pg", "workingset_", "allocstall",
                       "pages_swapped", "high_events", "oom_"}) ||
        contains_any(m, {"_faults", "anon_bytes", "file_bytes", "current_bytes"}))
        return Resource::memory;
    return Resource::other;
}

bool series_related(const SeriesKey& a, const SeriesKey& b) {
    if (a.labels == b.labels) return true;
    const Resource r = resource_of(a);
    if (r == Resource::other || r != resource_of(b)) return false;
    if (host_wide(a) || host_wide(b)) return true;
    const std::string_view ca = label(a, "cgroup"), cb = label(b, "cgroup");
    if (ca.empty() || cb.empty()) return false;
    // Two processes are related through their cgroup only when it is not the root, where
    // every process without one of its own sits.
    if (has_label(a, "pid") && has_label(b, "pid")) return ca == cb && ca != "/";
    return cgroup_within(ca, cb) || cgroup_within(cb, ca);
}

IncidentSeries* IncidentTracker::member(const SeriesKey& key) {
    for (Open& o : open_)
        for (IncidentSeries& s : o.incident.series)
            if (s.key == key) return &s;
    return nullptr;
}

IncidentTracker::Open* IncidentTracker::related_incident(const SeriesKey& key, int64_t ts_ms) {
    const int64_t join_ms = params_.join_intervals * interval_ms_;
    for (Open& o : open_) {
        for (const IncidentSeries& s : o.incident.series) {
            if ((s.active || ts_ms - s.last_out_ms <= join_ms) && series_related(s.key, key))
                return &o;
        }
    }
    return nullptr;
}

void IncidentTracker::add(int64_t ts_ms, const SeriesAnomaly& a,
                          std::vector<IncidentEvent>& events) {
    IncidentSeries s{*a.key, a.kind, ts_ms, ts_ms, true, a.scoring, a.scoring};
    if (Open* o = related_incident(*a.key, ts_ms)) {
        o->incident.series.push_back(std::move(s));
        o->incident.score = std::max(o->incident.score, a.scoring.score);
        o->changed = true;
        return;
    }
    Open o;
    o.incident.id = next_id_++;
    o.incident.start_ms = ts_ms;
    o.incident.score = a.scoring.score;
    o.incident.series.push_back(std::move(s));
    o.reported_score = o.incident.score;
    events.push_back({IncidentChange::opened, o.incident});
    open_.push_back(std::move(o));
}

std::vector<IncidentEvent> IncidentTracker::update(int64_t ts_ms,
                                                   std::span<const SeriesAnomaly> anomalies) {
    std::vector<IncidentEvent> events;
    for (const SeriesAnomaly& a : anomalies) {
        IncidentSeries* s = member(*a.key);
        if (!s) {
            if (a.phase != AnomalyPhase::ended) add(ts_ms, a, events);
            continue;
        }
        // A member that ended and started again within the join window stays a member.
        s->active = a.phase != AnomalyPhase::ended;
        if (!s->active) continue;
        if (out_of_band(a.scoring)) s->last_out_ms = ts_ms;
        s->latest = a.scoring;
        if (a.scoring.score > s->peak.score) s->peak = a.scoring;
    }
    const int64_t join_ms = params_.join_intervals * interval_ms_;
    for (auto it = open_.begin(); it != open_.end();) {
        Incident& inc = it->incident;
        for (const IncidentSeries& s : inc.series) inc.score = std::max(inc.score, s.peak.score);
        const bool quiet = std::ranges::none_of(inc.series, [&](const IncidentSeries& s) {
            return s.active || ts_ms - s.last_out_ms <= join_ms;
        });
        if (quiet) {
            inc.end_ms = std::ranges::max(inc.series, {}, &IncidentSeries::last_out_ms).last_out_ms;
            events.push_back({IncidentChange::closed, std::move(inc)});
            it = open_.erase(it);
            continue;
        }
        if (it->changed || inc.score >= it->reported_score * params_.rescore_factor) {
            it->reported_score = inc.score;
            events.push_back({IncidentChange::updated, inc});
        }
        it->changed = false;
        ++it;
    }
    return events;
}

}  // namespace perfbpf
