// A report over a time range of the daemon's history: per resource the average, p95 and
// maximum, the top consumers, the verdict and alert timelines and the tuner's changes.
// Pure: the numbers come from query results (model/series_result.h's SeriesResult) handed in by
// sinks/history_report.cpp; the writers (sinks/report_*.cpp) lay the sections out.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/series.h"
#include "model/series_result.h"

namespace perfbpf {

// The sections in the order every writer lays them out. A new section (incidents,
// forecasts) is a new value here, its data in Report, and a case in each writer's switch
// (-Wswitch names every writer that lacks it).
enum class ReportSection : uint8_t {
    resources,
    top_consumers,
    verdicts,
    alerts,
    incidents,
    forecasts,
    tune_changes
};
inline constexpr std::array kReportSections = {
    ReportSection::resources,   ReportSection::top_consumers, ReportSection::verdicts,
    ReportSection::alerts,      ReportSection::incidents,     ReportSection::forecasts,
    ReportSection::tune_changes};
// Its JSON key and HTML anchor ("resources", "top_consumers", ...).
std::string_view section_key(ReportSection s);
std::string_view section_title(ReportSection s);

// One step of a resource: the mean over the intervals it merged, the highest interval
// among them, and how many there were.
struct StepValue {
    int64_t ts_ms = 0;
    double mean = 0, max = 0;
    uint64_t count = 0;
};

struct ResourceStats {
    std::string resource;  // "cpu_busy", "disk_util", ... (stable: JSON and tests use it)
    std::string title;     // "CPU busy"
    std::string object;    // the device for per-device resources; "" for the host
    std::string unit;      // "pct", "us", "bytes/s", "per_s"
    // avg: over every interval in the range; p95: of the per-step (minute) means, nearest
    // rank; max: the highest single interval.
    double avg = 0, p95 = 0, max = 0;
    uint64_t intervals = 0;
    std::vector<StepValue> chart;  // minute steps, hour steps over more than two days
};

// avg, p95 and max of steps (intervals counted from each step's count).
void fill_stats(ResourceStats& r, std::span<const StepValue> steps);

// A series' points as steps: gauges and levels as their mean, counters as a rate per
// second (`interval_s`: the collection interval), each multiplied by `scale`.
std::vector<StepValue> series_steps(const SeriesResult& s, double interval_s, double scale = 1);
// Share of `total` used, in percent, from a total and what is left of it (memory, swap):
// the mean from the means, the maximum from the least left. Steps without both or with a
// zero total are left out.
std::vector<StepValue> used_pct_steps(const SeriesResult& total, const SeriesResult& left);
// The collection interval in seconds, from the fullest step of series queried at `step_ms`
// (a full minute of 5 s intervals counts 12); 0 when there are no points.
double interval_s_of(const SeriesResult& s, int64_t step_ms);

struct Consumer {
    std::string name;  // "postgres (812)" for a process, the path for a cgroup
    Labels labels;
    double value = 0;
};

// The top processes or cgroups by one measure over the range.
struct TopList {
    std::string object;  // "process", "cgroup"
    std::string by;      // "cpu", "memory", "io"
    std::string unit;    // "s" (CPU seconds), "bytes" (peak resident), "bytes" (read+written)
    std::vector<Consumer> top;
};

enum class TopMeasure : uint8_t {
    total,  // counters: the sum over the range
    peak,   // levels: the highest interval
};
// Series of one object kind (several metrics adding up, e.g. read and write bytes) ranked
// by the measure over their points, largest first, at most n, zeros left out; a value is
// multiplied by `scale` (ns -> s). Processes summed into `other` are not consumers.
std::vector<Consumer> rank_consumers(const std::vector<SeriesResult>& series, TopMeasure measure,
                                     double scale, size_t n);

// A stretch of time something held: an alert at a severity, a resource's verdict.
struct TimelineEntry {
    std::string name;      // the alert; for verdicts, the resource
    std::string severity;  // "warning", "critical"
    Labels object;         // the alert's object labels
    int64_t start_ms = 0;
    int64_t end_ms = 0;  // 0: still so at the end of the range
    bool daemon_stopped = false;
};

// A change the tuner made in the range and what became of it.
struct TuneChange {
    int64_t ts_ms = 0;
    std::string tuner, knob, from, to, reason;
    std::string outcome, detail;  // tune/journal.h's outcome names: kept, reverted, ...
    // What the daemon's auto-tune made it for ("alert sleeper_waits {cgroup=/a}", "incident
    // 1733-2"); "" for a change of `perfbpf tune`.
    std::string trigger;
};

// Where a series with a limit is heading (a filesystem filling, a cgroup's memory, the
// host's free memory, a big process's RSS): `perfbpf forecast`'s method over the report's
// horizon.
struct ReportForecast {
    std::string metric;
    Labels labels;
    std::string now;      // the newest value, in its unit
    std::string outlook;  // "vda1 full (fs_size_bytes 250 GiB) in 3.2 d (90 %: 2.5 d–4.1 d)",
                          // or why there is no forecast ("needs 14.0 d of history")
    bool forecast = false;
    bool already = false;                              // at or past its limit now
    std::optional<int64_t> eta_ms, early_ms, late_ms;  // to the limit, within the horizon
};

// An anomaly incident the daemon recorded (incidents.jsonl), as `perfbpf incidents` shows
// it: its series with what was observed against the expected band, and the evidence
// gathered (top consumers of the resource).
struct ReportIncident {
    std::string id, resource;
    int64_t start_ms = 0, end_ms = 0;  // end 0: still open
    double score = 0;
    std::vector<std::string>
        series;  // "cpu_pct{pid=812}: observed 95, expected 2 [0, 5], score 12.3"
    std::vector<std::string> evidence;  // "process by cpu (mean): {comm=spin,pid=812} 95 %"
};

struct Report {
    int64_t from_ms = 0, to_ms = 0;  // [from, to)
    int64_t generated_ms = 0;
    int64_t step_ms = 0, chart_step_ms = 0;
    uint64_t intervals = 0;  // the host's intervals in the range; 0: nothing to report
    std::vector<ResourceStats> resources;
    std::vector<TopList> top;
    std::vector<TimelineEntry> verdicts, alerts;
    std::vector<TuneChange> tune_changes;
    std::vector<ReportIncident> incidents;
    int64_t forecast_horizon_ms = 0;
    std::vector<ReportForecast> forecasts;
    std::vector<std::string> notes;  // what could not be read, said in the report
};

// Minute steps for the statistics; charts at minute steps up to two days, hour steps
// beyond (a week of minutes is 10,080 points, more than a chart can show).
inline constexpr int64_t kReportStepMs = 60'000;
int64_t report_chart_step_ms(int64_t from_ms, int64_t to_ms);

}  // namespace perfbpf
