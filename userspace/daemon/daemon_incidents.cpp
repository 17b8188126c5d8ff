#include "daemon/daemon_incidents.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "model/selector.h"
#include "model/series_extract.h"
#include "store/history.h"

namespace perfbpf {
namespace {

AnomalyParams anomaly_params(const AnomalyConfig& c, int64_t interval_ms) {
    AnomalyParams p;
    p.interval_ms = interval_ms;
    p.threshold = c.score;
    p.window = static_cast<size_t>(c.window);
    // A tenth of the window, at most the default minute: a short window (tests, fast
    // hosts) starts scoring as soon as its baseline means something.
    p.min_values = std::min<size_t>(60, std::max<size_t>(10, p.window / 10));
    p.clear_intervals = c.clear_intervals;
    return p;
}

uint64_t file_cap(const AnomalyConfig& c) {
    return static_cast<uint64_t>(c.max_file_mib * 1024 * 1024);
}

std::string series_text(const IncidentSeries& s) {
    std::string labels;
    for (const auto& [k, v] : s.key.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
    return s.key.metric + "{" + labels + "}";
}

// The value feed() scores for a minute point (AnomalyScorer::seed).
double seed_value(MetricKind kind, const QueryPoint& p) {
    switch (kind) {
        case MetricKind::counter:
            return p.count > 0 ? p.sum / static_cast<double>(p.count) : 0;
        case MetricKind::gauge:
            return p.value;
        case MetricKind::level:
            return p.last;
        case MetricKind::histogram:
            return p.p99_us;
    }
    return p.value;
}

}  // namespace

DaemonIncidents::DaemonIncidents(const Config& config, int state_fd, const std::string& state_dir,
                                 int64_t interval_ms, int64_t started_ms)
    : config_(config.anomaly),
      log_(state_fd, state_dir, file_cap(config.anomaly)),
      state_dir_(state_dir),
      started_ms_(started_ms) {
    if (config_.enabled) detector_.emplace(anomaly_params(config_, interval_ms));
    reconfigure(config);
}

void DaemonIncidents::reconfigure(const Config& config) {
    if (config.anomaly.enabled != config_.enabled)
        spdlog::warn("[anomaly] enabled changes on restart, not on reload");
    log_.set_max_bytes(file_cap(config.anomaly));
    config_.evidence_intervals = config.anomaly.evidence_intervals;
    rule_metric_.clear();
    for (const auto& spec : merge_alert_rules(config.alerting.rules))
        if (auto r = compile_rule(spec)) rule_metric_[spec.name] = r->selector.metric;
}

void DaemonIncidents::seed(History& history, int64_t now_ms) {
    if (!detector_ || config_.seed_days <= 0) return;
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto budget = std::chrono::duration<double>(config_.seed_budget_s);
    const int64_t from = now_ms - static_cast<int64_t>(config_.seed_days * 86'400'000.0);
    std::set<std::string> done;
    size_t series = 0, metrics = 0, total = 0;
    bool cut = false;
    std::vector<std::pair<int64_t, double>> points;
    for (const FieldInfo& f : metric_catalogue()) {
        if (!done.insert(f.name).second) continue;
        ++total;
        if (Clock::now() - start > budget) {
            cut = true;
            continue;
        }
        Selector sel;
        sel.metric = f.name;
        auto results = history.query(sel, from, now_ms, 60'000);
        if (!results) {
            spdlog::warn("anomaly seed: {}: {}", f.name, results.error().message);
            continue;
        }
        ++metrics;
        for (const SeriesResult& r : *results) {
            // Only the minute tier: raw points are the recent baseline's business, and a
            // point of the hour tier would be seeded as one minute.
            points.clear();
            if (r.tier != Tier::minute) continue;
            for (const QueryPoint& p : r.points)
                if (p.count > 0) points.emplace_back(p.ts_ms, seed_value(r.kind, p));
            if (points.empty()) continue;
            detector_->seed(r.key, r.kind, points, 60'000);
            ++series;
        }
    }
    const double took = std::chrono::duration<double>(Clock::now() - start).count();
    if (cut)
        spdlog::warn(
            "anomaly: seeded {} series of {} of {} metrics from {} days of minute history in "
            "{:.1f} "
            "s; stopped at the {} s budget ([anomaly] seed_budget), the rest learn as they go",
            series, metrics, total, config_.seed_days, took, config_.seed_budget_s);
    else
        spdlog::info(
            "anomaly: seeded {} series of {} metrics from {} days of minute history in "
            "{:.1f} s",
            series, metrics, config_.seed_days, took);
}

std::string DaemonIncidents::incident_id(uint64_t id) const {
    // The tracker counts from 1 in every run: the run's start keeps ids apart across restarts.
    return std::to_string(started_ms_ / 1000) + "-" + std::to_string(id);
}

Resource DaemonIncidents::alert_resource(const Alert& a) const {
    for (const auto& [k, v] : a.object)
        if (k == "resource")
            for (Resource r : {Resource::cpu, Resource::memory, Resource::io, Resource::net})
                if (resource_name(r) == v) return r;
    auto it = rule_metric_.find(a.rule);
    SeriesKey key{it == rule_metric_.end() ? a.rule : it->second, a.object};
    return resource_of(key);
}

void DaemonIncidents::write(const nlohmann::json& record) {
    auto r = log_.append(record.dump());
    if (!r && !write_failed_) spdlog::error("incidents: {} (later records too)", r.error().message);
    if (r && write_failed_)
        spdlog::warn("incidents: {}/{} written again", state_dir_, kIncidentLogFile);
    write_failed_ = !r;
}

std::vector<SeriesSample> DaemonIncidents::on_span(int64_t ts, std::span<const SeriesSample> series,
                                                   std::span<const AlertEvent> alert_events) {
    std::vector<SeriesSample> out;
    if (!detector_) return out;
    const int self = static_cast<int>(::getpid());
    for (const IncidentEvent& e : detector_->feed(ts, series)) {
        const Incident& inc = e.incident;
        const std::string id = incident_id(inc.id);
        const Resource resource = incident_resource(inc);
        write(incident_record(ts, id, e.change, inc));
        // Evidence when it opens and again when a series joins (the cause may have come
        // later than the first symptom), one investigation at a time per incident.
        if (e.change != IncidentChange::closed) {
            size_t& seen = series_seen_[id];
            const bool grew = inc.series.size() > seen;
            seen = inc.series.size();
            const bool busy = std::ranges::any_of(
                pending_, [&](const Pending& p) { return p.subject.value("incident", "") == id; });
            if (grew && !busy) {
                Investigation inv(resource, config_.evidence_intervals, 5, self);
                for (const IncidentSeries& s : inc.series)
                    for (const auto& [k, v] : s.key.labels)
                        if (k == "pid") inv.focus(v);
                pending_.push_back({{{"incident", id}}, std::move(inv)});
            }
            leaks_.consider(id, inc, self);
            if (auto hint = incident_tune_hint(inc))
                tune_hints_[id] = std::move(*hint);
            else
                tune_hints_.erase(id);
        } else {
            series_seen_.erase(id);
            tune_hints_.erase(id);
            leaks_.forget(id);
        }
        if (e.change == IncidentChange::opened) {
            const IncidentSeries& first = inc.series.front();
            spdlog::warn(
                "incident {} opened [{}]: {} observed {:.6g}, expected {:.6g} (band {:.6g} to "
                "{:.6g}), score {:.1f}",
                id, resource_name(resource), series_text(first), first.latest.observed,
                first.latest.expected, first.latest.band_low, first.latest.band_high,
                first.latest.score);
            open_series_[id] = {{"incident", id},
                                {"resource", std::string(resource_name(resource))}};
        } else if (e.change == IncidentChange::closed) {
            spdlog::info("incident {} closed [{}]: {} s, {} series, highest score {:.1f}", id,
                         resource_name(resource), (inc.end_ms - inc.start_ms) / 1000,
                         inc.series.size(), inc.score);
            if (auto it = open_series_.find(id); it != open_series_.end()) {
                out.push_back({{kIncidentOpenMetric, it->second}, MetricKind::level, 0, {}});
                open_series_.erase(it);
            }
        }
    }
    for (const AlertEvent& e : alert_events) {
        write(alert_record(ts, e));
        if (e.change == AlertChange::fired)
            pending_.push_back(
                {{{"alert", alert_ref(e.alert)}},
                 Investigation(alert_resource(e.alert), config_.evidence_intervals, 5, self)});
    }
    for (const auto& [id, labels] : open_series_)
        out.push_back({{kIncidentOpenMetric, labels}, MetricKind::level, 1, {}});
    return out;
}

void DaemonIncidents::observe(const Snapshot& snap) {
    if (!detector_) return;
    const int64_t ts = snap.end_unix_ms;
    if (auto leaks = leaks_.poll(ts)) write(*leaks);
    for (Pending& p : pending_) {
        p.investigation.add(snap);
        if (p.investigation.done())
            write(evidence_record(ts, p.subject, p.investigation.evidence()));
    }
    std::erase_if(pending_, [](const Pending& p) { return p.investigation.done(); });
}

}  // namespace perfbpf
