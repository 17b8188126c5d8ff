// `perfbpf report`'s writers (detect/report.h's Report): JSON with every section, Markdown
// tables, and one self-contained HTML page (inline CSS and SVG charts, no scripts,
// printable). What they share: how a value of each unit and a time read.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "detect/report.h"

namespace perfbpf {

// {"range": {...}, "resources": [...], "top_consumers": [...], "verdicts": [...], "alerts":
// [...], "tune_changes": [...], "notes": [...]}: every section of kReportSections, keyed by
// section_key, present even when empty.
nlohmann::json report_json(const Report& r);
std::string report_markdown(const Report& r);
std::string report_html(const Report& r);

// "42.0 %", "1.2 ms", "3.4 MiB/s", "0.25/s", "120 s", "1.5 GiB" for a ResourceStats or
// TopList unit.
std::string report_value(double v, const std::string& unit);
// "2026-12-05 03:12 UTC"
std::string report_time(int64_t unix_ms);
// "since - until" of a timeline entry ("ongoing", "(daemon stopped)" when so), and its length.
std::string timeline_until(const TimelineEntry& e);
std::string timeline_duration(const TimelineEntry& e, int64_t to_ms);
// The object labels of a timeline entry, "host" when none: "device=sda".
std::string timeline_object(const TimelineEntry& e);
// metric{label="value",...} of a forecast's series, as `perfbpf query` names it.
std::string forecast_series_name(const ReportForecast& f);
// What a section says when it has nothing: "No alerts fired in this range."
std::string empty_section_text(ReportSection s);
// What a top list's numbers are: "CPU time", "peak memory", "read + written".
std::string top_measure(const TopList& t);
// "Processes by CPU", "Cgroups by I/O"
std::string top_title(const TopList& t);
// The heading of the report: "perfbpf report 2026-12-04 20:00 UTC - 2026-12-05 20:00 UTC".
std::string report_heading(const Report& r);

}  // namespace perfbpf
