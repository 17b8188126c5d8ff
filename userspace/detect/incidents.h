// Incidents: anomalies of series that move together, grouped so one cause is reported once
// with all its evidence. A series' anomaly joins an open incident when one of the
// incident's series is related to it and is still anomalous, or stopped being so within
// `join_intervals`; otherwise it opens an incident of its own. Related series are:
//   - series of the same object (a process's cpu_pct and its runq_wait_ns);
//   - series of the same resource (cpu, memory, io, net) on nested objects: a process and
//     its cgroup or the cgroup's ancestors, a cgroup and its ancestors, processes of the
//     same (non-root) cgroup, and anything and the host-wide series of that resource
//     (a cgroup's CPU, its run-queue wait and the host's PSI cpu).
// A series stays anomalous (and so open to related newcomers) until it has been back in
// band for the scorer's clear_intervals; an incident closes when none of its series is
// anomalous any more and none was out of band within join_intervals.
//
// AnomalyDetector is the whole: series in every interval, incidents out.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "detect/anomaly.h"
#include "model/series.h"
#include "util/enum_table.h"

namespace perfbpf {

enum class Resource : uint8_t { cpu, memory, io, net, other };
inline constexpr auto kResourceNames =
    enum_table<Resource>("resource", {{Resource::cpu, "cpu"},
                                      {Resource::memory, "memory"},
                                      {Resource::io, "io"},
                                      {Resource::net, "net"},
                                      {Resource::other, "other"}});
inline std::string_view resource_name(Resource r) {
    return kResourceNames.name(r);
}
// The resource a series is about, from its object's labels and its metric's name.
Resource resource_of(const SeriesKey& key);
bool series_related(const SeriesKey& a, const SeriesKey& b);

struct IncidentSeries {
    SeriesKey key;
    MetricKind kind = MetricKind::gauge;
    int64_t start_ms = 0;     // when its anomaly was detected
    int64_t last_out_ms = 0;  // the last interval it was anomalous
    bool active = true;       // still anomalous
    Scoring peak;             // the interval of its highest score (observed, band, score)
    Scoring latest;           // its last interval while anomalous
};

struct Incident {
    uint64_t id = 0;
    int64_t start_ms = 0;
    int64_t end_ms = 0;  // the last interval a series was anomalous; 0 while open
    double score = 0;    // the highest of its series' scores
    std::vector<IncidentSeries> series;
};

enum class IncidentChange : uint8_t { opened, updated, closed };
inline constexpr auto kIncidentChangeNames =
    enum_table<IncidentChange>("incident change", {{IncidentChange::opened, "opened"},
                                                   {IncidentChange::updated, "updated"},
                                                   {IncidentChange::closed, "closed"}});
inline std::string_view incident_change_name(IncidentChange c) {
    return kIncidentChangeNames.name(c);
}

struct IncidentEvent {
    IncidentChange change = IncidentChange::opened;
    Incident incident;
};

struct IncidentParams {
    int join_intervals = 5;
    // An open incident is reported again (updated) when a series joins or its score has
    // grown by this factor since it was last reported.
    double rescore_factor = 1.5;
};

class IncidentTracker {
  public:
    IncidentTracker(IncidentParams p, int64_t interval_ms)
        : params_(p), interval_ms_(interval_ms) {}

    std::vector<IncidentEvent> update(int64_t ts_ms, std::span<const SeriesAnomaly> anomalies);
    size_t open_count() const { return open_.size(); }

  private:
    struct Open {
        Incident incident;
        double reported_score = 0;
        bool changed = false;
    };
    IncidentSeries* member(const SeriesKey& key);
    Open* related_incident(const SeriesKey& key, int64_t ts_ms);
    void add(int64_t ts_ms, const SeriesAnomaly& a, std::vector<IncidentEvent>& events);

    IncidentParams params_;
    int64_t interval_ms_;
    std::vector<Open> open_;
    uint64_t next_id_ = 1;
};

class AnomalyDetector {
  public:
    explicit AnomalyDetector(AnomalyParams a = {}, IncidentParams i = {})
        : scorer_(a), tracker_(i, a.interval_ms) {}

    // One interval's series (snapshot_series, plus any derived ones): the incidents that
    // opened, changed or closed in it.
    std::vector<IncidentEvent> feed(int64_t ts_ms, std::span<const SeriesSample> samples) {
        return tracker_.update(ts_ms, scorer_.feed(ts_ms, samples));
    }
    // Seasonal history of one series (AnomalyScorer::seed).
    void seed(const SeriesKey& key, MetricKind kind,
              std::span<const std::pair<int64_t, double>> points, int64_t span_ms) {
        scorer_.seed(key, kind, points, span_ms);
    }
    const AnomalyScorer& scorer() const { return scorer_; }
    const IncidentTracker& tracker() const { return tracker_; }

  private:
    AnomalyScorer scorer_;
    IncidentTracker tracker_;
};

}  // namespace perfbpf
