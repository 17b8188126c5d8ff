#include "sinks/history_sink.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace perfbpf {

using nlohmann::json;

namespace {

std::string time_text(int64_t ms, bool utc) {
    time_t secs = static_cast<time_t>(ms / 1000);
    tm t{};
    if (utc)
        gmtime_r(&secs, &t);
    else
        localtime_r(&secs, &t);
    char buf[64];
    std::strftime(buf, sizeof buf, utc ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &t);
    char out[80];
    std::snprintf(out, sizeof out, "%s.%03d%s", buf, static_cast<int>(ms % 1000), utc ? "Z" : "");
    return out;
}

std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

}  // namespace

std::string series_name(const SeriesKey& key) {
    return key.metric + "{" + canonical_labels(key.labels) + "}";
}

namespace {

// A series' name, labels, kind and tier: what both JSON forms start with.
json series_head(const SeriesResult& s) {
    json labels = json::object();
    for (const auto& [k, v] : s.key.labels) labels[k] = v;
    return {{"metric", s.key.metric},
            {"labels", labels},
            {"kind", kMetricKindNames.name(s.kind)},
            {"tier", tier_name(s.tier)}};
}

}  // namespace

json query_json(const std::vector<SeriesResult>& series, const QueryRange& range) {
    json out{{"from_ms", range.from_ms}, {"to_ms", range.to_ms}, {"step_ms", range.step_ms}};
    json list = json::array();
    for (const auto& s : series) {
        json points = json::array();
        for (const auto& p : s.points) {
            if (range.step_ms > 0)
                points.push_back({p.ts_ms, p.value, p.min, p.max, p.count});
            else
                points.push_back({p.ts_ms, p.value});
        }
        json one = series_head(s);
        one["points"] = std::move(points);
        list.push_back(std::move(one));
    }
    out["series"] = list;
    return out;
}

json chart_json(const std::vector<SeriesResult>& series, const QueryRange& range,
                int64_t interval_ms, size_t max_series) {
    json out{{"from_ms", range.from_ms},
             {"to_ms", range.to_ms},
             {"step_ms", range.step_ms},
             {"matched", series.size()}};
    // A step holds step/interval intervals' worth of a counter, however many of them the
    // store had (an interval is stamped where it ended, so the first step can hold one
    // more): per second over the step is the rate a chart can compare across ranges.
    const double per_s = 1000.0 / static_cast<double>(std::max(range.step_ms, interval_ms));
    json list = json::array();
    for (size_t i = 0; i < series.size() && i < max_series; ++i) {
        const auto& s = series[i];
        const bool rate = s.kind == MetricKind::counter;
        json points = json::array();
        for (const auto& p : s.points)
            points.push_back({p.ts_ms, rate ? p.value * per_s : p.value});
        json one = series_head(s);
        one["per_second"] = rate;
        one["points"] = std::move(points);
        list.push_back(std::move(one));
    }
    out["series"] = std::move(list);
    return out;
}

std::string query_csv(const std::vector<SeriesResult>& series) {
    std::string out = "time,series,value\n";
    for (const auto& s : series) {
        std::string name = series_name(s.key);
        std::string quoted = "\"";
        for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        quoted += "\"";
        for (const auto& p : s.points)
            out += time_text(p.ts_ms, true) + "," + quoted + "," + number(p.value) + "\n";
    }
    return out;
}

std::string render_query(const std::vector<SeriesResult>& series, const QueryRange& range) {
    if (series.empty())
        return "no series matched between " + time_text(range.from_ms, false) + " and " +
               time_text(range.to_ms, false) + "\n";
    std::string out;
    for (const auto& s : series) {
        out += series_name(s.key) + "  " + kMetricKindNames.name(s.kind) + ", " +
               tier_name(s.tier) + " tier, " + std::to_string(s.points.size()) + " points\n";
        for (const auto& p : s.points) {
            out += "  " + time_text(p.ts_ms, false) + "  " + number(p.value);
            if (range.step_ms > 0)
                out += "  (min " + number(p.min) + ", max " + number(p.max) + ", " +
                       std::to_string(p.count) + " intervals)";
            out += "\n";
        }
    }
    return out;
}

}  // namespace perfbpf
