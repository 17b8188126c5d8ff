#include "sinks/history_report.h"

#include <algorithm>
#include <map>

#include "model/daemon_status.h"
#include "model/selector.h"
#include "sinks/history_alerts.h"
#include "sinks/history_forecast.h"
#include "sinks/incident_json.h"
#include "store/forecast_series.h"

namespace perfbpf {
namespace {

// Host series have no labels; these matchers keep the same metric of cgroups, processes,
// namespaces and CPUs out of the query (a missing label matches "").
constexpr const char* kHostOnly = "{cgroup=\"\",netns=\"\",pid=\"\",cpu=\"\",device=\"\"}";
constexpr const char* kEachDevice = "{device=~\".+\"}";
// The alert rule whose alert_state series record the verdicts (detect/alert_rules.cpp).
constexpr const char* kVerdictAlert = "verdict";
constexpr const char* kClockMetric = "cpu_busy_pct";

struct ResourceDef {
    const char* resource;
    const char* title;
    const char* unit;
    std::vector<const char*> metrics;  // two: a total and what is left of it (used_pct)
    bool per_device = false;
};

const std::vector<ResourceDef>& resource_defs() {
    static const std::vector<ResourceDef> defs = {
        {"cpu_busy", "CPU busy", "pct", {"cpu_busy_pct"}},
        {"memory_in_use", "Memory in use", "pct", {"mem_total_bytes", "mem_available_bytes"}},
        {"swap_in_use", "Swap in use", "pct", {"swap_total_bytes", "swap_free_bytes"}},
        {"psi_cpu", "CPU pressure (some)", "pct", {"psi_cpu_some_interval_pct"}},
        {"psi_memory", "Memory pressure (some)", "pct", {"psi_memory_some_interval_pct"}},
        {"psi_io", "I/O pressure (some)", "pct", {"psi_io_some_interval_pct"}},
        {"disk_latency_p99", "Disk latency p99", "us", {"lat_p99_us"}, true},
        {"disk_util", "Disk utilisation", "pct", {"util_pct"}, true},
        {"net_tx", "TCP sent", "bytes/s", {"tcp_tx_bytes"}},
        {"net_rx", "TCP received", "bytes/s", {"tcp_rx_bytes"}},
        {"tcp_retransmits", "TCP retransmits", "per_s", {"tcp_retransmits"}},
    };
    return defs;
}

std::string label_of(const Labels& l, std::string_view name) {
    for (const auto& [k, v] : l)
        if (k == name) return v;
    return "";
}

Result<std::vector<SeriesResult>> run(History& h, const std::string& selector, int64_t from,
                                      int64_t to, int64_t step) {
    auto sel = parse_selector(selector);
    if (!sel) return fail("report: selector " + selector + ": " + sel.error().message);
    auto r = h.query(*sel, from, to, step);
    if (!r) return fail("report: " + selector + ": " + r.error().message);
    return r;
}

// Each object's (the device's; "" for the host) steps of one resource.
Result<std::map<std::string, std::vector<StepValue>>> resource_steps(
    History& h, const ResourceDef& d, int64_t from, int64_t to, int64_t step, double interval_s) {
    std::vector<std::vector<SeriesResult>> per_metric;
    for (const char* m : d.metrics) {
        auto r = run(h, std::string(m) + (d.per_device ? kEachDevice : kHostOnly), from, to, step);
        if (!r) return std::unexpected(r.error());
        per_metric.push_back(std::move(*r));
    }
    std::map<std::string, std::vector<StepValue>> out;
    for (const auto& s : per_metric[0]) {
        const std::string object = label_of(s.key.labels, "device");
        if (per_metric.size() == 1) {
            out[object] = series_steps(s, interval_s);
            continue;
        }
        auto left = std::ranges::find(per_metric[1], s.key.labels,
                                      [](const SeriesResult& x) { return x.key.labels; });
        if (left != per_metric[1].end()) out[object] = used_pct_steps(s, *left);
    }
    return out;
}

Result<void> add_resources(History& h, Report& rep, int64_t to, double interval_s) {
    for (const auto& d : resource_defs()) {
        auto steps = resource_steps(h, d, rep.from_ms, to, rep.step_ms, interval_s);
        if (!steps) return std::unexpected(steps.error());
        std::map<std::string, std::vector<StepValue>> chart;
        if (rep.chart_step_ms != rep.step_ms) {
            auto c = resource_steps(h, d, rep.from_ms, to, rep.chart_step_ms, interval_s);
            if (!c) return std::unexpected(c.error());
            chart = std::move(*c);
        }
        for (auto& [object, values] : *steps) {
            ResourceStats r;
            r.resource = d.resource;
            r.title = d.title;
            r.object = object;
            r.unit = d.unit;
            fill_stats(r, values);
            if (r.intervals == 0) continue;  // no swap, a device with no points in range
            r.chart = rep.chart_step_ms != rep.step_ms ? std::move(chart[object]) : values;
            rep.resources.push_back(std::move(r));
        }
    }
    return {};
}

struct TopDef {
    const char* object;
    const char* by;
    const char* unit;
    std::vector<const char*> metrics;
    TopMeasure measure;
    double scale;
};

Result<void> add_top(History& h, Report& rep, int64_t to, size_t n) {
    static const char* kProcesses = "{pid=~\".+\"}";
    static const char* kCgroups = "{pid=\"\",cgroup=~\".+\"}";
    static const std::vector<TopDef> defs = {
        {"process", "cpu", "s", {"oncpu_ns"}, TopMeasure::total, 1e-9},
        {"process", "memory", "bytes", {"rss_bytes"}, TopMeasure::peak, 1},
        {"process", "io", "bytes", {"read_bytes", "write_bytes"}, TopMeasure::total, 1},
        {"cgroup", "cpu", "s", {"oncpu_ns"}, TopMeasure::total, 1e-9},
        {"cgroup", "memory", "bytes", {"memory_current_bytes"}, TopMeasure::peak, 1},
        {"cgroup", "io", "bytes", {"read_bytes", "write_bytes"}, TopMeasure::total, 1},
    };
    // One step over the whole range: the coarsest tier that has it, one point a series.
    const int64_t step = std::max<int64_t>(to - rep.from_ms + 1, kReportStepMs);
    for (const auto& d : defs) {
        std::vector<SeriesResult> series;
        for (const char* m : d.metrics) {
            const bool process = std::string_view(d.object) == "process";
            auto r =
                run(h, std::string(m) + (process ? kProcesses : kCgroups), rep.from_ms, to, step);
            if (!r) return std::unexpected(r.error());
            std::ranges::move(*r, std::back_inserter(series));
        }
        rep.top.push_back({d.object, d.by, d.unit, rank_consumers(series, d.measure, d.scale, n)});
    }
    return {};
}

// Forecasts over the report's length (a day at least, a week at most) of what runs into a
// limit: every filesystem and the host's free memory (with why there is none when history
// is short), and cgroups and the biggest processes only when they reach theirs within the
// horizon (a line for every cgroup that will not would bury the ones that will).
Result<void> add_forecasts(History& h, Report& rep, int64_t now_ms) {
    constexpr int64_t kDay = 24 * 3600 * 1000LL;
    rep.forecast_horizon_ms = std::clamp<int64_t>(rep.to_ms - rep.from_ms, kDay, 7 * kDay);
    std::vector<std::pair<std::string, bool>> selectors = {
        // selector, always listed
        {"fs_used_bytes", true},
        {"mem_available_bytes" + std::string(kHostOnly), true},
        {"memory_current_bytes{pid=\"\",cgroup=~\".+\"}", false}};
    for (const auto& t : rep.top)
        if (t.object == "process" && t.by == "memory")
            for (const auto& c : t.top) {
                std::string sel = "rss_bytes{";
                for (size_t i = 0; i < c.labels.size(); ++i)
                    sel += (i ? "," : "") + c.labels[i].first + "=\"" + c.labels[i].second + '"';
                selectors.emplace_back(sel + "}", false);
            }
    for (const auto& [text, always] : selectors) {
        auto sel = parse_selector(text);
        if (!sel) return fail("report: forecast selector " + text + ": " + sel.error().message);
        ForecastQuery q;
        q.selector = *sel;
        q.horizon_ms = rep.forecast_horizon_ms;
        q.now_ms = std::min(now_ms, rep.to_ms);
        auto run = forecast_history(h, q);
        if (!run) return std::unexpected(run.error());
        for (const SeriesForecast& s : run->series) {
            ReportForecast f;
            f.metric = s.key.metric;
            f.labels = s.key.labels;
            f.now = forecast_value_text(s.last, s.unit);
            f.outlook = forecast_outlook(s, run->coverage, q.horizon_ms);
            f.forecast = s.forecast.has_value();
            if (s.forecast && s.forecast->crossing) {
                const Crossing& c = *s.forecast->crossing;
                f.already = c.already;
                f.eta_ms = c.eta_ms;
                f.early_ms = c.early_ms;
                f.late_ms = c.late_ms;
            }
            if (always || f.already || f.eta_ms) rep.forecasts.push_back(std::move(f));
        }
    }
    return {};
}

// The incidents that overlap the range, from the daemon's records folded as `perfbpf
// incidents` folds them.
void add_incidents(const nlohmann::json& folded, Report& rep) {
    for (const auto& i : folded["incidents"]) {
        ReportIncident r;
        r.id = i.value("id", "");
        r.resource = i.value("resource", "");
        r.start_ms = i.value("start_ms", int64_t{0});
        r.end_ms = i.value("open", false) ? 0 : i.value("end_ms", int64_t{0});
        r.score = i.value("score", 0.0);
        if (r.start_ms >= rep.to_ms || (r.end_ms != 0 && r.end_ms < rep.from_ms)) continue;
        for (const auto& s : i.value("series", nlohmann::json::array()))
            r.series.push_back(incident_series_line(s));
        for (const auto& e : i.value("evidence", nlohmann::json::array()))
            for (auto& line : evidence_lines(e)) r.evidence.push_back(std::move(line));
        for (const auto& l : i.value("leaks", nlohmann::json::array()))
            for (auto& line : leak_capture_lines(l)) r.evidence.push_back(std::move(line));
        for (const auto& t : i.value("tune", nlohmann::json::array()))
            r.evidence.push_back("tuned: " + tune_change_line(t));
        rep.incidents.push_back(std::move(r));
    }
}

Result<void> add_timelines(History& h, Report& rep, int64_t to, int64_t now_ms) {
    auto series = run(h, kAlertStateMetric, rep.from_ms, to, 0);
    if (!series) return std::unexpected(series.error());
    for (const auto& e : alert_episodes(*series, now_ms, kAlertSeriesStaleMs)) {
        TimelineEntry t{e.alert, e.severity, e.object, e.start_ms, e.end_ms, e.daemon_stopped};
        if (e.alert == kVerdictAlert) {
            t.name = label_of(e.object, "resource");
            std::erase_if(t.object, [](const auto& kv) { return kv.first == "resource"; });
            rep.verdicts.push_back(std::move(t));
        } else {
            rep.alerts.push_back(std::move(t));
        }
    }
    auto by_start = [](const TimelineEntry& a, const TimelineEntry& b) {
        return a.start_ms != b.start_ms ? a.start_ms < b.start_ms : a.name < b.name;
    };
    std::ranges::sort(rep.verdicts, by_start);
    std::ranges::sort(rep.alerts, by_start);
    return {};
}

// The journal's changes in the range; those the daemon's auto-tune made name what they were
// made for (its tune records in incidents.jsonl, by the journal's seq).
void add_tune_changes(const tune::JournalState& journal, const nlohmann::json& folded,
                      Report& rep) {
    std::map<uint64_t, std::string> trigger;
    for (const auto& t : folded.value("tune", nlohmann::json::array())) {
        const uint64_t seq = t.value("seq", uint64_t{0});
        if (t.contains("incident") && t["incident"].is_string())
            trigger[seq] = "incident " + t["incident"].get<std::string>();
        else if (t.contains("alert") && t["alert"].is_object())
            trigger[seq] = "alert " + t["alert"].value("rule", "") + " " +
                           labels_text(t["alert"].value("object", nlohmann::json::object()));
    }
    for (const auto& k : journal.history) {
        if (k.changed_unix_ms < rep.from_ms || k.changed_unix_ms >= rep.to_ms) continue;
        auto it = trigger.find(k.change_seq);
        rep.tune_changes.push_back({k.changed_unix_ms, k.tuner,
                                    k.display.empty() ? tune::to_string(k.id) : k.display, k.from,
                                    k.to, k.reason, tune::outcome_name(k.outcome), k.detail,
                                    it == trigger.end() ? "" : it->second});
    }
}

}  // namespace

Result<Report> build_report(History& history, const ReportOptions& o,
                            const tune::JournalState* journal) {
    if (o.to_ms <= o.from_ms) return fail("report: the range ends before it starts");
    Report rep;
    rep.from_ms = o.from_ms;
    rep.to_ms = o.to_ms;
    rep.generated_ms = o.now_ms;
    rep.step_ms = kReportStepMs;
    rep.chart_step_ms = report_chart_step_ms(o.from_ms, o.to_ms);
    const int64_t to = o.to_ms - 1;  // queries take closed ranges

    auto clock = run(history, std::string(kClockMetric) + kHostOnly, o.from_ms, to, rep.step_ms);
    if (!clock) return std::unexpected(clock.error());
    double interval_s = 0;
    for (const auto& s : *clock) {
        for (const auto& p : s.points) rep.intervals += p.count;
        interval_s = std::max(interval_s, interval_s_of(s, rep.step_ms));
    }
    if (rep.intervals == 0) return rep;

    if (auto r = add_resources(history, rep, to, interval_s); !r) return std::unexpected(r.error());
    if (auto r = add_top(history, rep, to, o.top_n); !r) return std::unexpected(r.error());
    // An episode still firing at the end of a past range is ongoing there, not ended by a
    // daemon that stopped: staleness counts from the range's end.
    if (auto r = add_timelines(history, rep, to, std::min(o.now_ms, o.to_ms)); !r)
        return std::unexpected(r.error());
    const nlohmann::json folded = o.incident_records
                                      ? fold_incident_records(*o.incident_records, rep.from_ms)
                                      : nlohmann::json::object();
    if (o.incident_records) add_incidents(folded, rep);
    if (auto r = add_forecasts(history, rep, o.now_ms); !r) return std::unexpected(r.error());
    if (journal) add_tune_changes(*journal, folded, rep);
    return rep;
}

}  // namespace perfbpf
