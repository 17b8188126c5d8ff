#include <cstdio>
#include <ctime>

#include "sinks/report.h"
#include "store/history.h"

#include "util/format.h"

namespace perfbpf {

std::string report_value(double v, const std::string& unit) {
    if (unit == "pct") return format_fixed(v, v < 10 ? 2 : 1) + " %";
    if (unit == "us") return format_us(v);
    if (unit == "bytes/s") return format_bytes(v) + "/s";
    if (unit == "bytes") return format_bytes(v);
    if (unit == "per_s") return format_fixed(v, v < 10 ? 2 : 1) + "/s";
    if (unit == "s") return format_fixed(v, v < 10 ? 2 : 0) + " s";
    return format_fixed(v, 2) + (unit.empty() ? "" : " " + unit);
}

std::string report_time(int64_t unix_ms) {
    const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

std::string timeline_until(const TimelineEntry& e) {
    if (e.end_ms == 0) return "ongoing";
    return report_time(e.end_ms) + (e.daemon_stopped ? " (daemon stopped)" : "");
}

std::string timeline_duration(const TimelineEntry& e, int64_t to_ms) {
    const int64_t m = ((e.end_ms ? e.end_ms : to_ms) - e.start_ms) / 60'000;
    if (m < 60) return std::to_string(m) + " min";
    return std::to_string(m / 60) + " h " + std::to_string(m % 60) + " min";
}

std::string timeline_object(const TimelineEntry& e) {
    std::string out;
    for (const auto& [k, v] : e.object) out += (out.empty() ? "" : ", ") + k + "=" + v;
    return out.empty() ? "host" : out;
}

std::string forecast_series_name(const ReportForecast& f) {
    return f.labels.empty() ? f.metric : f.metric + "{" + canonical_labels(f.labels) + "}";
}

std::string empty_section_text(ReportSection s) {
    switch (s) {
        case ReportSection::resources:
            return "No resource series in this range.";
        case ReportSection::top_consumers:
            return "None recorded.";
        case ReportSection::verdicts:
            return "No verdict held warning or critical in this range.";
        case ReportSection::alerts:
            return "No alerts fired in this range.";
        case ReportSection::incidents:
            return "No anomaly incidents in this range.";
        case ReportSection::forecasts:
            return "Nothing with a limit is forecast to reach it.";
        case ReportSection::tune_changes:
            return "The tuner changed nothing in this range.";
    }
    return "";
}

std::string top_measure(const TopList& t) {
    if (t.by == "cpu") return "CPU time";
    if (t.by == "memory") return "peak memory";
    if (t.by == "io") return "read + written";
    return t.by;
}

std::string top_title(const TopList& t) {
    const std::string by = t.by == "cpu" ? "CPU" : t.by == "io" ? "I/O" : t.by;
    return std::string(t.object == "process" ? "Processes" : "Cgroups") + " by " + by;
}

std::string report_heading(const Report& r) {
    return "perfbpf report " + report_time(r.from_ms) + " - " + report_time(r.to_ms);
}

}  // namespace perfbpf
