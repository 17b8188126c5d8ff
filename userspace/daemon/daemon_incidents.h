// The daemon's anomaly detection: each span's series into the AnomalyDetector
// (detect/incidents.h), seeded at start from the history's minute tier; incidents to the
// log (a line on open and close) and to STATE_DIR/incidents.jsonl with every change; for
// each incident opened and each alert fired, the top consumers of its resource over the
// next few intervals (detect/investigate.h) recorded with it, and for one whose process's
// memory grows a growth-mode leak trace of it (daemon/daemon_leaks.h); incident_open series
// (1 while open, 0 at close) for the history.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/daemon_leaks.h"
#include "detect/alert_rules.h"
#include "detect/incidents.h"
#include "detect/investigate.h"
#include "detect/tune_hint.h"
#include "model/snapshot.h"
#include "sinks/incident_json.h"
#include "sinks/incident_log.h"

namespace perfbpf {

class History;

inline constexpr const char* kIncidentOpenMetric = "incident_open";

class DaemonIncidents {
  public:
    // `state_fd` (the state dir, shown as `state_dir`) must outlive this.
    DaemonIncidents(const Config& config, int state_fd, const std::string& state_dir,
                    int64_t interval_ms, int64_t started_ms);

    // Seasonal history of every catalogue series, read from the minute tier within the
    // configured days and time budget.
    void seed(History& history, int64_t now_ms);

    // Once a span (model/series_span.h: a second, or the interval when longer), its series
    // scored (counters per interval, as the history seeds them) and the alerts' changes:
    // the incident_open series to write with its last interval. Scoring every series
    // each interval was 17 % of the daemon's CPU at 0.1 s, for baselines that learn over
    // minutes; the detector's `interval_ms` is the span's, so `window` counts spans.
    std::vector<SeriesSample> on_span(int64_t ts_ms, std::span<const SeriesSample> series,
                                      std::span<const AlertEvent> alert_events);
    // Every interval, after on_span when a span ended with it: the snapshot into the pending
    // investigations (their evidence sums intervals, not spans) and the leak traces polled.
    void observe(const Snapshot& snap);

    // On reload: the rules' resources and the file cap (the detector keeps its baselines;
    // new scoring parameters take effect on restart).
    void reconfigure(const Config& config);
    size_t open_incidents() const { return detector_ ? detector_->tracker().open_count() : 0; }
    // The tuner each open incident names for its object (detect/tune_hint.h), by incident id.
    const std::map<std::string, TuneHint>& tune_hints() const { return tune_hints_; }
    // A record of another part of the daemon (auto-tune's changes) into incidents.jsonl.
    void record(const nlohmann::json& r) { write(r); }

  private:
    struct Pending {
        nlohmann::json subject;
        Investigation investigation;
    };
    void write(const nlohmann::json& record);
    std::string incident_id(uint64_t id) const;
    Resource alert_resource(const Alert& a) const;

    AnomalyConfig config_;
    std::optional<AnomalyDetector> detector_;
    IncidentLog log_;
    std::string state_dir_;
    int64_t started_ms_;
    std::map<std::string, std::string> rule_metric_;  // alert rule -> its selector's metric
    std::vector<Pending> pending_;
    std::map<std::string, Labels> open_series_;  // incident id -> incident_open labels
    std::map<std::string, size_t> series_seen_;  // incident id -> series when last investigated
    std::map<std::string, TuneHint> tune_hints_;
    DaemonLeaks leaks_;
    bool write_failed_ = false;
};

}  // namespace perfbpf
