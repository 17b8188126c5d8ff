#include "sinks/incident_json.h"

#include <map>
#include <sstream>

#include "detect/leak_trend.h"
#include "sinks/alert_receivers.h"
#include "sinks/json_sink.h"
#include "util/format.h"

namespace perfbpf {
namespace {

using nlohmann::json;

json scoring_json(const Scoring& s) {
    return {{"observed", s.observed},   {"expected", s.expected}, {"band_low", s.band_low},
            {"band_high", s.band_high}, {"score", s.score},       {"seasonal", s.seasonal}};
}

json evidence_json(const Evidence& e) {
    json rankings = json::array();
    for (const EvidenceRanking& r : e.rankings) {
        json top = json::array();
        for (const EvidenceConsumer& c : r.top)
            top.push_back({{"labels", labels_json(c.object)},
                           {"value", c.value},
                           {"intervals", c.intervals}});
        rankings.push_back({{"object", r.object},
                            {"measure", r.measure},
                            {"unit", r.unit},
                            {"how", r.how},
                            {"top", std::move(top)}});
    }
    return {{"resource", resource_name(e.resource)},
            {"from_ms", e.from_ms},
            {"to_ms", e.to_ms},
            {"intervals", e.intervals},
            {"rankings", std::move(rankings)}};
}

std::string alert_key(const json& ref) {
    return ref.value("rule", "") + "|" + ref.value("object", json::object()).dump() + "|" +
           std::to_string(ref.value("starts_ms", int64_t{0}));
}

std::string value_text(double v, const std::string& unit) {
    if (unit == "bytes") return format_bytes(v);
    if (unit == "us") return format_us(v);
    if (unit == "ns") return format_us(v / 1000);
    if (unit == "pct") return format_fixed(v, 1) + "%";
    return format_count(v);
}

std::string time_text(const json& j, const char* key) {
    const int64_t ms = j.value(key, int64_t{0});
    return ms > 0 ? rfc3339_ms(ms) : "-";
}

void evidence_text(std::ostringstream& o, const json& e) {
    o << "  evidence over " << e.value("intervals", 0) << " intervals from "
      << time_text(e, "from_ms") << ":\n";
    for (const auto& line : evidence_lines(e)) o << "    " << line << "\n";
}

}  // namespace

json incident_record(int64_t ts_ms, const std::string& id, IncidentChange change,
                     const Incident& incident) {
    json series = json::array();
    for (const IncidentSeries& s : incident.series)
        series.push_back({{"metric", s.key.metric},
                          {"labels", labels_json(s.key.labels)},
                          {"start_ms", s.start_ms},
                          {"active", s.active},
                          {"peak", scoring_json(s.peak)},
                          {"latest", scoring_json(s.latest)}});
    return {{"event", "incident"},
            {"ts", ts_ms},
            {"change", incident_change_name(change)},
            {"id", id},
            {"start_ms", incident.start_ms},
            {"end_ms", incident.end_ms},
            {"score", incident.score},
            {"resource", resource_name(incident_resource(incident))},
            {"series", std::move(series)}};
}

json alert_ref(const Alert& a) {
    return {{"rule", a.rule}, {"object", labels_json(a.object)}, {"starts_ms", a.starts_ms}};
}

json alert_record(int64_t ts_ms, const AlertEvent& e) {
    json j = alert_ref(e.alert);
    j["event"] = "alert";
    j["ts"] = ts_ms;
    j["change"] = alert_change_name(e.change);
    j["severity"] = severity_name(e.alert.severity);
    j["value"] = e.alert.value;
    j["threshold"] = e.alert.threshold;
    j["summary"] = e.alert.summary;
    j["ends_ms"] = e.alert.ends_ms;
    return j;
}

json evidence_record(int64_t ts_ms, json subject, const Evidence& evidence) {
    json j = std::move(subject);
    j["event"] = "evidence";
    j["ts"] = ts_ms;
    j["evidence"] = evidence_json(evidence);
    return j;
}

std::string tune_change_name(const tune::KnobRecord& k) {
    return k.outcome == tune::Outcome::pending ? "applied" : tune::outcome_name(k.outcome);
}

json tune_record(int64_t ts_ms, json subject, const tune::KnobRecord& k) {
    json r = std::move(subject);
    r["event"] = "tune";
    r["ts"] = ts_ms;
    r["change"] = tune_change_name(k);
    r["seq"] = k.change_seq;
    r["tuner"] = k.tuner;
    r["object"] = tune::to_string(k.id.scope);
    r["knob"] = k.display.empty() ? k.id.key : k.display;
    r["from"] = k.from;
    r["to"] = k.to;
    r["reason"] = k.reason;
    r["detail"] = k.detail;
    return r;
}

json leak_capture_record(int64_t ts_ms, const std::string& incident, int pid,
                         const std::string& comm, double seconds, const Result<LeakReport>& report,
                         size_t top) {
    json leaks = {{"pid", pid}, {"comm", comm}, {"seconds", seconds}};
    if (!report) {
        leaks["error"] = report.error().message;
    } else {
        if (!report->processes.empty()) {
            const ProcessGrowth& g = report->processes.front();
            leaks["rss_slope_bytes_per_s"] = g.trend.slope_bytes_per_s;
            leaks["trend"] = leak_class_name(g.trend.cls);
            leaks["heap_growth_bytes"] = g.heap_growth_bytes;
        }
        json stacks = json::array();
        for (const LeakStack& st : report->stacks) {
            if (stacks.size() >= top) break;
            if (st.outstanding_bytes <= 0) continue;
            json frames = json::array();
            for (const LeakFrame& f : st.frames) {
                std::string where = f.function;
                if (!f.file.empty())
                    where += " (" + f.file + (f.line ? ":" + std::to_string(f.line) : "") + ")";
                frames.push_back(std::move(where));
            }
            stacks.push_back({{"bytes", st.outstanding_bytes},
                              {"allocs", st.outstanding_allocs},
                              {"trend", leak_class_name(st.trend.cls)},
                              {"truncated", st.truncated},
                              {"frames", std::move(frames)}});
        }
        leaks["stacks"] = std::move(stacks);
    }
    return {{"event", "leaks"}, {"ts", ts_ms}, {"incident", incident}, {"leaks", std::move(leaks)}};
}

std::vector<std::string> leak_capture_lines(const json& l) {
    std::vector<std::string> out;
    std::string head = "leak trace of pid " + std::to_string(l.value("pid", 0)) + " (" +
                       l.value("comm", "") + ") for " + format_fixed(l.value("seconds", 0.0), 0) +
                       " s";
    if (l.contains("error")) {
        out.push_back(head + ": " + l.value("error", ""));
        return out;
    }
    if (l.contains("trend"))
        head += ": RSS " + l.value("trend", "") + " at " +
                format_bytes(l.value("rss_slope_bytes_per_s", 0.0)) + "/s";
    const json& stacks = l.value("stacks", json::array());
    out.push_back(head + (stacks.empty() ? "; no stack added memory" : "; top stacks:"));
    for (const json& st : stacks) {
        std::string frames;
        for (const json& f : st.value("frames", json::array()))
            frames += (frames.empty() ? "" : " < ") + f.get<std::string>();
        out.push_back(format_bytes(st.value("bytes", 0.0)) + " (" + st.value("trend", "") +
                      "): " + (frames.empty() ? "?" : frames) +
                      (st.value("truncated", false) ? " < ..." : ""));
    }
    return out;
}

json fold_incident_records(const std::vector<std::string>& lines, int64_t since_ms) {
    std::map<std::string, json> incidents, alerts;
    std::vector<std::string> incident_order, alert_order;
    std::map<std::string, json> incident_evidence, alert_evidence;  // arrays, oldest first
    std::map<std::string, json> incident_leaks;                     // arrays, oldest first
    std::map<int64_t, json> tune;  // by the journal's seq: each change's latest record
    std::vector<int64_t> tune_order;
    size_t skipped = 0;
    for (const std::string& line : lines) {
        json r = json::parse(line, nullptr, false);
        if (!r.is_object() || !r.contains("event") || !r["event"].is_string()) {
            ++skipped;
            continue;
        }
        const std::string event = r["event"];
        if (event == "incident" && r.contains("id") && r["id"].is_string()) {
            const std::string id = r["id"];
            if (!incidents.contains(id)) incident_order.push_back(id);
            incidents[id] = std::move(r);
        } else if (event == "alert") {
            const std::string key = alert_key(r);
            if (!alerts.contains(key)) alert_order.push_back(key);
            alerts[key] = std::move(r);
        } else if (event == "evidence" && r.contains("evidence")) {
            if (r.contains("incident") && r["incident"].is_string())
                incident_evidence[r["incident"]].push_back(r["evidence"]);
            else if (r.contains("alert") && r["alert"].is_object())
                alert_evidence[alert_key(r["alert"])].push_back(r["evidence"]);
            else
                ++skipped;
        } else if (event == "leaks" && r.contains("incident") && r["incident"].is_string() &&
                   r.contains("leaks") && r["leaks"].is_object()) {
            incident_leaks[r["incident"]].push_back(r["leaks"]);
        } else if (event == "tune" && r.contains("seq") && r["seq"].is_number_integer()) {
            const int64_t seq = r["seq"];
            if (!tune.contains(seq)) tune_order.push_back(seq);
            r.erase("event");
            tune[seq] = std::move(r);
        } else {
            ++skipped;
        }
    }
    json out = {{"incidents", json::array()},
                {"alerts", json::array()},
                {"tune", json::array()},
                {"skipped", skipped}};
    std::map<std::string, json> incident_tune, alert_tune;  // arrays, in the order made
    for (int64_t seq : tune_order) {
        const json& t = tune[seq];
        if (t.contains("incident") && t["incident"].is_string())
            incident_tune[t["incident"]].push_back(t);
        else if (t.contains("alert") && t["alert"].is_object())
            alert_tune[alert_key(t["alert"])].push_back(t);
        if (t.value("ts", int64_t{0}) >= since_ms || t.value("change", "") == "applied")
            out["tune"].push_back(t);
    }
    for (const std::string& id : incident_order) {
        json j = incidents[id];
        const bool open = j.value("change", "") != "closed";
        if (!open && j.value("ts", int64_t{0}) < since_ms) continue;
        j.erase("event");
        j["open"] = open;
        if (auto e = incident_evidence.find(id); e != incident_evidence.end())
            j["evidence"] = e->second;
        if (auto l = incident_leaks.find(id); l != incident_leaks.end()) j["leaks"] = l->second;
        if (auto t = incident_tune.find(id); t != incident_tune.end()) j["tune"] = t->second;
        out["incidents"].push_back(std::move(j));
    }
    for (const std::string& key : alert_order) {
        json j = alerts[key];
        const bool firing = j.value("change", "") != "resolved";
        if (!firing && j.value("ts", int64_t{0}) < since_ms) continue;
        j.erase("event");
        j["firing"] = firing;
        if (auto e = alert_evidence.find(key); e != alert_evidence.end()) j["evidence"] = e->second;
        if (auto t = alert_tune.find(key); t != alert_tune.end()) j["tune"] = t->second;
        out["alerts"].push_back(std::move(j));
    }
    return out;
}

std::string labels_text(const json& labels) {
    std::string out;
    for (const auto& [k, v] : labels.items()) {
        if (!out.empty()) out += ",";
        out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    }
    return "{" + out + "}";
}

std::string incident_series_line(const json& s) {
    const json& p = s.value("peak", json::object());
    std::ostringstream o;
    o << s.value("metric", "") << labels_text(s.value("labels", json::object())) << ": observed "
      << format_count(p.value("observed", 0.0)) << ", expected "
      << format_count(p.value("expected", 0.0)) << " [" << format_count(p.value("band_low", 0.0))
      << ", " << format_count(p.value("band_high", 0.0)) << "], score "
      << format_fixed(p.value("score", 0.0), 1)
      << (p.value("seasonal", false) ? " (seasonal)" : "");
    return o.str();
}

std::vector<std::string> evidence_lines(const json& e) {
    std::vector<std::string> out;
    for (const json& r : e.value("rankings", json::array())) {
        const json& top = r.value("top", json::array());
        if (top.empty()) continue;
        std::string line = r.value("object", "") + " by " + r.value("measure", "") + " (" +
                           r.value("how", "") + "):";
        for (const json& c : top)
            line += " " + labels_text(c.value("labels", json::object())) + " " +
                    value_text(c.value("value", 0.0), r.value("unit", ""));
        out.push_back(std::move(line));
    }
    return out;
}

std::string tune_change_line(const json& t) {
    std::string line = t.value("tuner", "") + " " + t.value("object", "") + ": " +
                       t.value("knob", "") + " " + t.value("from", "") + " -> " +
                       t.value("to", "") + " " + t.value("change", "");
    const std::string detail = t.value("detail", "");
    return line + (detail.empty() ? "" : " (" + detail + ")");
}

json incident_annotations_json(const json& folded, int64_t from_ms, int64_t to_ms) {
    json out = {{"incidents", json::array()}, {"tune", json::array()}};
    for (const json& i : folded.value("incidents", json::array())) {
        const int64_t start = i.value("start_ms", int64_t{0});
        const int64_t end = i.value("end_ms", int64_t{0});
        const bool open = i.value("open", false);
        if (start > to_ms || (!open && end < from_ms)) continue;
        const json& series = i.value("series", json::array());
        out["incidents"].push_back(
            {{"id", i.value("id", "")},
             {"resource", i.value("resource", "")},
             {"start_ms", start},
             {"end_ms", open ? 0 : end},
             {"open", open},
             {"score", i.value("score", 0.0)},
             {"summary", series.empty() ? std::string() : incident_series_line(series[0])}});
    }
    for (const json& t : folded.value("tune", json::array())) {
        const int64_t ts = t.value("ts", int64_t{0});
        if (ts < from_ms || ts > to_ms) continue;
        json a = t;
        a.erase("reason");
        out["tune"].push_back(std::move(a));
    }
    return out;
}

std::string incidents_text(const json& folded) {
    std::ostringstream o;
    const json& incidents = folded["incidents"];
    if (incidents.empty()) o << "no incidents\n";
    for (const json& i : incidents) {
        o << "incident " << i.value("id", "") << " [" << i.value("resource", "") << "] "
          << (i.value("open", false) ? "OPEN" : "closed") << " " << time_text(i, "start_ms")
          << " - " << time_text(i, "end_ms") << " score " << format_fixed(i.value("score", 0.0), 1)
          << "\n";
        for (const json& s : i.value("series", json::array()))
            o << "  " << incident_series_line(s) << "\n";
        for (const json& e : i.value("evidence", json::array())) evidence_text(o, e);
        for (const json& l : i.value("leaks", json::array())) {
            const auto lines = leak_capture_lines(l);
            for (size_t n = 0; n < lines.size(); ++n) o << (n ? "    " : "  ") << lines[n] << "\n";
        }
        for (const json& t : i.value("tune", json::array()))
            o << "  tuned: " << tune_change_line(t) << "\n";
    }
    for (const json& a : folded["alerts"]) {
        o << "alert " << a.value("rule", "") << labels_text(a.value("object", json::object()))
          << " " << a.value("severity", "") << " "
          << (a.value("firing", false) ? "FIRING" : "resolved") << " since "
          << time_text(a, "starts_ms") << ": " << a.value("summary", "") << "\n";
        for (const json& e : a.value("evidence", json::array())) evidence_text(o, e);
        for (const json& t : a.value("tune", json::array()))
            o << "  tuned: " << tune_change_line(t) << "\n";
    }
    if (folded.value("skipped", 0) > 0)
        o << folded.value("skipped", 0) << " unreadable records skipped\n";
    return o.str();
}

}  // namespace perfbpf
