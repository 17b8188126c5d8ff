// The report as JSON: numbers in their base units (pct, us, bytes/s, per_s, s, bytes),
// times in RFC 3339 UTC.
#include "sinks/alert_receivers.h"
#include "sinks/json_sink.h"
#include "sinks/report.h"

namespace perfbpf {
namespace {

using nlohmann::json;

json resources_json(const Report& r) {
    json out = json::array();
    for (const auto& s : r.resources) {
        json chart = json::array();
        for (const auto& p : s.chart) chart.push_back({p.ts_ms, p.mean, p.max});
        out.push_back({{"resource", s.resource},
                       {"title", s.title},
                       {"object", s.object},
                       {"unit", s.unit},
                       {"avg", s.avg},
                       {"p95", s.p95},
                       {"max", s.max},
                       {"intervals", s.intervals},
                       {"chart_step_ms", r.chart_step_ms},
                       {"chart", std::move(chart)}});
    }
    return out;
}

json top_json(const Report& r) {
    json out = json::array();
    for (const auto& t : r.top) {
        json top = json::array();
        for (const auto& c : t.top)
            top.push_back(
                {{"name", c.name}, {"labels", labels_json(c.labels)}, {"value", c.value}});
        out.push_back({{"object", t.object}, {"by", t.by}, {"unit", t.unit}, {"top", top}});
    }
    return out;
}

json timeline_json(const std::vector<TimelineEntry>& entries, const char* name_key) {
    json out = json::array();
    for (const auto& e : entries) {
        json x = {{name_key, e.name},
                  {"severity", e.severity},
                  {"labels", labels_json(e.object)},
                  {"start", rfc3339_ms(e.start_ms)},
                  {"end", e.end_ms ? json(rfc3339_ms(e.end_ms)) : json(nullptr)}};
        if (e.daemon_stopped) x["daemon_stopped"] = true;
        out.push_back(std::move(x));
    }
    return out;
}

json tune_json(const Report& r) {
    json out = json::array();
    for (const auto& c : r.tune_changes)
        out.push_back({{"time", rfc3339_ms(c.ts_ms)},
                       {"tuner", c.tuner},
                       {"knob", c.knob},
                       {"from", c.from},
                       {"to", c.to},
                       {"reason", c.reason},
                       {"outcome", c.outcome},
                       {"detail", c.detail},
                       {"for", c.trigger}});
    return out;
}

json incidents_json(const Report& r) {
    json out = json::array();
    for (const auto& i : r.incidents)
        out.push_back({{"id", i.id},
                       {"resource", i.resource},
                       {"start", rfc3339_ms(i.start_ms)},
                       {"end", i.end_ms ? json(rfc3339_ms(i.end_ms)) : json(nullptr)},
                       {"score", i.score},
                       {"series", i.series},
                       {"evidence", i.evidence}});
    return out;
}

json forecasts_json(const Report& r) {
    auto opt = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
    json out = json::array();
    for (const auto& f : r.forecasts) {
        json labels = json::object();
        for (const auto& [k, v] : f.labels) labels[k] = v;
        out.push_back({{"metric", f.metric},
                       {"labels", labels},
                       {"now", f.now},
                       {"outlook", f.outlook},
                       {"forecast", f.forecast},
                       {"horizon_ms", r.forecast_horizon_ms},
                       {"already", f.already},
                       {"eta_ms", opt(f.eta_ms)},
                       {"early_ms", opt(f.early_ms)},
                       {"late_ms", opt(f.late_ms)}});
    }
    return out;
}

}  // namespace

json report_json(const Report& r) {
    json j = {{"range",
               {{"from", rfc3339_ms(r.from_ms)},
                {"to", rfc3339_ms(r.to_ms)},
                {"generated", rfc3339_ms(r.generated_ms)},
                {"step_ms", r.step_ms},
                {"intervals", r.intervals}}},
              {"notes", r.notes}};
    for (ReportSection s : kReportSections) {
        json& out = j[std::string(section_key(s))];
        switch (s) {
            case ReportSection::resources:
                out = resources_json(r);
                break;
            case ReportSection::top_consumers:
                out = top_json(r);
                break;
            case ReportSection::verdicts:
                out = timeline_json(r.verdicts, "resource");
                break;
            case ReportSection::alerts:
                out = timeline_json(r.alerts, "alert");
                break;
            case ReportSection::incidents:
                out = incidents_json(r);
                break;
            case ReportSection::forecasts:
                out = forecasts_json(r);
                break;
            case ReportSection::tune_changes:
                out = tune_json(r);
                break;
        }
    }
    return j;
}

}  // namespace perfbpf
