// The report as Markdown: a table per section.
#include "sinks/report.h"
#include "util/format.h"

namespace perfbpf {
namespace {

// A table cell: pipes and newlines would end the cell or the row.
std::string cell(std::string s) {
    std::string out;
    for (char c : s) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n')
            out += ' ';
        else
            out += c;
    }
    return out;
}

std::string row(std::initializer_list<std::string> cells) {
    std::string out = "|";
    for (const auto& c : cells) out += " " + cell(c) + " |";
    return out + "\n";
}

std::string header(std::initializer_list<std::string> cells) {
    std::string out = row(cells) + "|";
    for (size_t i = 0; i < cells.size(); ++i) out += "---|";
    return out + "\n";
}

std::string resources_md(const Report& r) {
    if (r.resources.empty()) return empty_section_text(ReportSection::resources) + "\n";
    std::string out = header({"Resource", "Object", "Average", "p95", "Max"});
    for (const auto& s : r.resources)
        out += row({s.title, s.object.empty() ? "host" : s.object, report_value(s.avg, s.unit),
                    report_value(s.p95, s.unit), report_value(s.max, s.unit)});
    return out + "\np95 is of the minute averages; max is the highest single interval.\n";
}

std::string top_md(const Report& r) {
    std::string out;
    for (const auto& t : r.top) {
        out += (out.empty() ? "### " : "\n### ") + top_title(t) + "\n\n";
        if (t.top.empty()) {
            out += empty_section_text(ReportSection::top_consumers) + "\n";
            continue;
        }
        out += header({"#", t.object, top_measure(t)});
        for (size_t i = 0; i < t.top.size(); ++i)
            out +=
                row({std::to_string(i + 1), t.top[i].name, report_value(t.top[i].value, t.unit)});
    }
    return out;
}

std::string timeline_md(const std::vector<TimelineEntry>& entries, const Report& r,
                        const char* what, ReportSection s) {
    if (entries.empty()) return empty_section_text(s) + "\n";
    std::string out = header({what, "Severity", "Object", "From", "Until", "For"});
    for (const auto& e : entries)
        out += row({e.name, e.severity, timeline_object(e), report_time(e.start_ms),
                    timeline_until(e), timeline_duration(e, r.to_ms)});
    return out;
}

std::string tune_md(const Report& r) {
    if (r.tune_changes.empty()) return empty_section_text(ReportSection::tune_changes) + "\n";
    std::string out = header({"Time", "Tuner", "Knob", "From", "To", "Reason", "For", "Outcome"});
    for (const auto& c : r.tune_changes)
        out += row({report_time(c.ts_ms), c.tuner, c.knob, c.from, c.to, c.reason,
                    c.trigger.empty() ? "-" : c.trigger,
                    c.outcome + (c.detail.empty() ? "" : ": " + c.detail)});
    return out;
}

std::string incidents_md(const Report& r) {
    if (r.incidents.empty()) return empty_section_text(ReportSection::incidents) + "\n";
    auto joined = [](const std::vector<std::string>& lines) {
        std::string out;
        for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
        return out;
    };
    std::string out =
        header({"Incident", "Resource", "From", "Until", "Score", "Series", "Evidence"});
    for (const auto& i : r.incidents)
        out += row({i.id, i.resource, report_time(i.start_ms),
                    i.end_ms ? report_time(i.end_ms) : std::string("ongoing"),
                    format_fixed(i.score, 1), joined(i.series), joined(i.evidence)});
    return out;
}

std::string forecasts_md(const Report& r) {
    if (r.forecasts.empty()) return empty_section_text(ReportSection::forecasts) + "\n";
    std::string out = header({"Series", "Now", "Outlook"});
    for (const auto& f : r.forecasts) out += row({forecast_series_name(f), f.now, f.outlook});
    return out;
}

}  // namespace

std::string report_markdown(const Report& r) {
    std::string out = "# " + report_heading(r) + "\n\n";
    out += std::to_string(r.intervals) + " intervals recorded; generated " +
           report_time(r.generated_ms) + ".\n";
    for (const auto& n : r.notes) out += "\n> " + n + "\n";
    for (ReportSection s : kReportSections) {
        out += "\n## " + std::string(section_title(s)) + "\n\n";
        switch (s) {
            case ReportSection::resources:
                out += resources_md(r);
                break;
            case ReportSection::top_consumers:
                out += top_md(r);
                break;
            case ReportSection::verdicts:
                out += timeline_md(r.verdicts, r, "Resource", s);
                break;
            case ReportSection::alerts:
                out += timeline_md(r.alerts, r, "Alert", s);
                break;
            case ReportSection::incidents:
                out += incidents_md(r);
                break;
            case ReportSection::forecasts:
                out += forecasts_md(r);
                break;
            case ReportSection::tune_changes:
                out += tune_md(r);
                break;
        }
    }
    return out;
}

}  // namespace perfbpf
