// The report as one HTML page that needs nothing else: inline CSS, an inline SVG line chart
// per resource (minute or hour steps: the mean, and the highest interval of each step
// fainter behind it), no scripts, and print rules so it prints as it reads.
#include <algorithm>

#include "sinks/report.h"
#include "util/format.h"

namespace perfbpf {
namespace {

std::string esc(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 1140px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; border-bottom: 1px solid #ccc; margin-top: 28px; }
h3 { font-size: 14px; margin: 12px 0 4px; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { overflow-wrap: anywhere; }
th { background: #f2f2f2; }
.note { background: #fff6d5; padding: 4px 8px; }
.charts { display: grid; grid-template-columns: repeat(2, 560px); gap: 8px 20px; }
.charts figure { margin: 0; }
.charts figcaption { font-weight: 600; }
.tops { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0 16px; }
.critical { color: #b2182b; font-weight: 600; }
.warning { color: #b35806; }
svg text { font: 11px system-ui, sans-serif; fill: #555; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; }
  figure, table, tr { break-inside: avoid; }
  .charts { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .charts svg { width: 100%; height: auto; }
}
)";

// The chart's geometry (px): the plot area inside a 560 x 150 figure.
constexpr double kW = 560, kH = 150, kX0 = 70, kY0 = 8, kPw = 480, kPh = 112;

// Polylines of one value of the steps; a gap of more than two steps breaks the line.
std::string lines(const std::vector<StepValue>& pts, const Report& r, double top, bool max,
                  const char* cls) {
    std::string out, cur;
    int64_t prev = 0;
    size_t n = 0;
    double last_x = 0, last_y = 0;
    char buf[64];
    const double span = static_cast<double>(r.to_ms - r.from_ms);
    auto flush = [&] {
        // A lone point is drawn as a short dash, or it would not show at all.
        if (n == 1) {
            std::snprintf(buf, sizeof buf, "%.1f,%.1f ", last_x + 2, last_y);
            cur += buf;
        }
        if (!cur.empty())
            out += "<polyline class=\"" + std::string(cls) + "\" points=\"" + cur + "\"/>";
        cur.clear();
        n = 0;
    };
    for (const auto& p : pts) {
        if (!cur.empty() && p.ts_ms - prev > 2 * r.chart_step_ms) flush();
        prev = p.ts_ms;
        last_x = kX0 + kPw * std::clamp((p.ts_ms - r.from_ms) / span, 0.0, 1.0);
        const double v = max ? p.max : p.mean;
        last_y = kY0 + kPh * (1 - std::clamp(v / top, 0.0, 1.0));
        std::snprintf(buf, sizeof buf, "%.1f,%.1f ", last_x, last_y);
        cur += buf;
        ++n;
    }
    flush();
    return out;
}

std::string chart(const ResourceStats& s, const Report& r) {
    double top = 0;
    for (const auto& p : s.chart) top = std::max(top, p.max);
    if (s.unit == "pct" && top > 50) top = std::max(top, 100.0);
    if (top <= 0) top = 1;
    char buf[512];
    std::string out;
    std::snprintf(buf, sizeof buf,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                  "viewBox=\"0 0 %.0f %.0f\" role=\"img\">",
                  kW, kH, kW, kH);
    out += buf;
    // The plot frame's colour is its own: tests find charts in a screenshot by it.
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f7f9fc\" "
                  "stroke=\"#7b2dd2\" shape-rendering=\"crispEdges\"/>",
                  kX0 - 0.5, kY0 - 0.5, kPw + 1, kPh + 1);
    out += buf;
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#e3e3e3\" "
                  "shape-rendering=\"crispEdges\"/>",
                  kX0, kX0 + kPw, kY0 + kPh / 2, kY0 + kPh / 2);
    out += buf;
    out += "<g fill=\"none\" stroke-linejoin=\"round\">";
    out +=
        "<style>.max{stroke:#f4a582;stroke-width:1}.mean{stroke:#2166ac;stroke-width:1.6}</style>";
    out += lines(s.chart, r, top, true, "max") + lines(s.chart, r, top, false, "mean") + "</g>";
    std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", kX0 - 4,
                  kY0 + 10);
    out += buf + esc(report_value(top, s.unit)) + "</text>";
    std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>",
                  kX0 - 4, kY0 + kPh);
    out += buf;
    std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.0f\">", kX0, kH - 12);
    out += buf + esc(report_time(r.from_ms)) + "</text>";
    std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", kX0 + kPw,
                  kH - 12);
    out += buf + esc(report_time(r.to_ms)) + "</text></svg>";
    return out;
}

std::string resources_html(const Report& r) {
    if (r.resources.empty()) return "<p>" + empty_section_text(ReportSection::resources) + "</p>\n";
    std::string out =
        "<table><tr><th>Resource</th><th>Object</th><th>Average</th><th>p95</th><th>Max</th></"
        "tr>\n";
    for (const auto& s : r.resources)
        out += "<tr><td>" + esc(s.title) + "</td><td>" + esc(s.object.empty() ? "host" : s.object) +
               "</td><td class=\"num\">" + esc(report_value(s.avg, s.unit)) +
               "</td><td class=\"num\">" + esc(report_value(s.p95, s.unit)) +
               "</td><td class=\"num\">" + esc(report_value(s.max, s.unit)) + "</td></tr>\n";
    out +=
        "</table>\n<p>p95 is of the minute averages; max is the highest single interval. "
        "Charts: the average of each " +
        std::string(r.chart_step_ms >= 3'600'000 ? "hour" : "minute") +
        " (dark) and its highest interval (light).</p>\n<div class=\"charts\">\n";
    for (const auto& s : r.resources)
        out += "<figure><figcaption>" + esc(s.title) +
               (s.object.empty() ? "" : " " + esc(s.object)) + "</figcaption>" + chart(s, r) +
               "</figure>\n";
    return out + "</div>\n";
}

std::string top_html(const Report& r) {
    std::string out = "<div class=\"tops\">\n";
    for (const auto& t : r.top) {
        out += "<div><h3>" + esc(top_title(t)) + "</h3>";
        if (t.top.empty()) {
            out += "<p>" + empty_section_text(ReportSection::top_consumers) + "</p></div>\n";
            continue;
        }
        out += "<table><tr><th>" + esc(t.object) + "</th><th>" + esc(top_measure(t)) + "</th></tr>";
        for (const auto& c : t.top)
            out += "<tr><td>" + esc(c.name) + "</td><td class=\"num\">" +
                   esc(report_value(c.value, t.unit)) + "</td></tr>";
        out += "</table></div>\n";
    }
    return out + "</div>\n";
}

std::string timeline_html(const std::vector<TimelineEntry>& entries, const Report& r,
                          const char* what, ReportSection s) {
    if (entries.empty()) return "<p>" + empty_section_text(s) + "</p>\n";
    std::string out =
        "<table><tr><th>" + std::string(what) +
        "</th><th>Severity</th><th>Object</th><th>From</th><th>Until</th><th>For</th></tr>\n";
    for (const auto& e : entries)
        out += "<tr><td>" + esc(e.name) + "</td><td class=\"" + esc(e.severity) + "\">" +
               esc(e.severity) + "</td><td>" + esc(timeline_object(e)) + "</td><td>" +
               esc(report_time(e.start_ms)) + "</td><td>" + esc(timeline_until(e)) +
               "</td><td class=\"num\">" + esc(timeline_duration(e, r.to_ms)) + "</td></tr>\n";
    return out + "</table>\n";
}

std::string tune_html(const Report& r) {
    if (r.tune_changes.empty())
        return "<p>" + empty_section_text(ReportSection::tune_changes) + "</p>\n";
    std::string out =
        "<table><tr><th>Time</th><th>Tuner</th><th>Knob</th><th>From</th><th>To</th>"
        "<th>Reason</th><th>For</th><th>Outcome</th></tr>\n";
    for (const auto& c : r.tune_changes)
        out += "<tr><td>" + esc(report_time(c.ts_ms)) + "</td><td>" + esc(c.tuner) + "</td><td>" +
               esc(c.knob) + "</td><td>" + esc(c.from) + "</td><td>" + esc(c.to) + "</td><td>" +
               esc(c.reason) + "</td><td>" + esc(c.trigger.empty() ? "-" : c.trigger) +
               "</td><td>" + esc(c.outcome) + (c.detail.empty() ? "" : ": " + esc(c.detail)) +
               "</td></tr>\n";
    return out + "</table>\n";
}

std::string incidents_html(const Report& r) {
    if (r.incidents.empty()) return "<p>" + empty_section_text(ReportSection::incidents) + "</p>\n";
    auto lines = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& l : v) out += (out.empty() ? "" : "<br>") + esc(l);
        return out;
    };
    std::string out =
        "<table><tr><th>Incident</th><th>Resource</th><th>From</th><th>Until</th>"
        "<th>Score</th><th>Series</th><th>Evidence</th></tr>\n";
    for (const auto& i : r.incidents)
        out += "<tr><td>" + esc(i.id) + "</td><td>" + esc(i.resource) + "</td><td>" +
               esc(report_time(i.start_ms)) + "</td><td>" +
               esc(i.end_ms ? report_time(i.end_ms) : std::string("ongoing")) +
               "</td><td class=\"num\">" + esc(format_fixed(i.score, 1)) + "</td><td>" +
               lines(i.series) + "</td><td>" + lines(i.evidence) + "</td></tr>\n";
    return out + "</table>\n";
}

std::string forecasts_html(const Report& r) {
    if (r.forecasts.empty()) return "<p>" + empty_section_text(ReportSection::forecasts) + "</p>\n";
    std::string out = "<table><tr><th>Series</th><th>Now</th><th>Outlook</th></tr>\n";
    for (const auto& f : r.forecasts)
        out += "<tr><td>" + esc(forecast_series_name(f)) + "</td><td class=\"num\">" + esc(f.now) +
               "</td><td" + (f.already || f.eta_ms ? " class=\"warning\"" : "") + ">" +
               esc(f.outlook) + "</td></tr>\n";
    return out + "</table>\n";
}

}  // namespace

std::string report_html(const Report& r) {
    const std::string heading = esc(report_heading(r));
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                      heading + "</title><style>" + kStyle + "</style></head><body>\n<h1>" +
                      heading + "</h1>\n<p>" + std::to_string(r.intervals) +
                      " intervals recorded; generated " + esc(report_time(r.generated_ms)) +
                      ".</p>\n";
    for (const auto& n : r.notes) out += "<p class=\"note\">" + esc(n) + "</p>\n";
    for (ReportSection s : kReportSections) {
        out += "<h2 id=\"" + std::string(section_key(s)) + "\">" + std::string(section_title(s)) +
               "</h2>\n";
        switch (s) {
            case ReportSection::resources:
                out += resources_html(r);
                break;
            case ReportSection::top_consumers:
                out += top_html(r);
                break;
            case ReportSection::verdicts:
                out += timeline_html(r.verdicts, r, "Resource", s);
                break;
            case ReportSection::alerts:
                out += timeline_html(r.alerts, r, "Alert", s);
                break;
            case ReportSection::incidents:
                out += incidents_html(r);
                break;
            case ReportSection::forecasts:
                out += forecasts_html(r);
                break;
            case ReportSection::tune_changes:
                out += tune_html(r);
                break;
        }
    }
    return out + "</body></html>\n";
}

}  // namespace perfbpf
