// The records of incidents.jsonl (sinks/incident_log.h) and what `perfbpf incidents` makes
// of them. One JSON object a line, "event" saying which:
//   incident  {change: opened|updated|closed, id, start_ms, end_ms, score, resource, series:
//              [{metric, labels, kind, start_ms, active, peak, latest}]}, each Scoring as
//              {observed, expected, band_low, band_high, score, seasonal}
//   alert     {change: fired|escalated|deescalated|resolved, rule, object, severity, value,
//              threshold, summary, starts_ms, ends_ms}
//   evidence  {incident: id} or {alert: {rule, object, starts_ms}}, and {evidence: {resource,
//              from_ms, to_ms, intervals, rankings: [{object, measure, unit, how, top:
//              [{labels, value, intervals}]}]}}
//   tune      {incident: id} or {alert: {rule, object, starts_ms}}: what named the tuner, and
//             {change: applied|kept|reverted|failed|overridden|..., seq, tuner, object, knob,
//             from, to, reason, detail}: the daemon's auto-tune ([tune] auto), a record
//             each time a change of the tune journal (its seq) is made or resolved
//   leaks     {incident: id, leaks: {pid, comm, seconds, error | {rss_slope_bytes_per_s,
//             trend, heap_growth_bytes, stacks: [{bytes, allocs, trend, frames: ["fn
//             (file:line)", ...]}]}}}: a growth-mode leak trace of the process whose memory
//             grew, for a memory incident
// Every record has "ts" (unix ms, the interval it was written in).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "detect/alert_rules.h"
#include "detect/incidents.h"
#include "detect/investigate.h"
#include "model/leaks.h"
#include "tune/journal.h"

namespace perfbpf {

nlohmann::json incident_record(int64_t ts_ms, const std::string& id, IncidentChange change,
                               const Incident& incident);
nlohmann::json alert_record(int64_t ts_ms, const AlertEvent& event);
nlohmann::json alert_ref(const Alert& alert);
// `subject` is {"incident": id} or {"alert": alert_ref(...)}.
nlohmann::json evidence_record(int64_t ts_ms, nlohmann::json subject, const Evidence& evidence);

// A change of the tune journal as auto-tune reports it: `change` is "applied" while it is
// verified, else the journal's outcome name.
nlohmann::json tune_record(int64_t ts_ms, nlohmann::json subject, const tune::KnobRecord& change);
std::string tune_change_name(const tune::KnobRecord& change);

// A leak capture's record: the top `top` stacks of a growth-mode trace of `pid`, or the
// error that stopped it.
nlohmann::json leak_capture_record(int64_t ts_ms, const std::string& incident, int pid,
                                   const std::string& comm, double seconds,
                                   const Result<LeakReport>& report, size_t top = 5);
// A capture's lines for a terminal or a report: a heading, then a stack a line.
std::vector<std::string> leak_capture_lines(const nlohmann::json& leaks);

// The records folded into their latest state: {"incidents": [...], "alerts": [...],
// "tune": [...]}, each incident (alert) the last record of it with "evidence" (an array,
// oldest first: an incident is investigated when it opens and when a series joins) when any
// was recorded, "leaks" (leak captures, oldest first) when any was, "tune" (the changes made
// for it, each its latest record) when any was, and
// "open" (firing) when it has not closed; the top-level "tune" lists every change (its latest
// record) in the order they were made. Kept: open ones and those whose last record is at
// or after since_ms; oldest first. Lines that are not JSON objects are counted in "skipped".
nlohmann::json fold_incident_records(const std::vector<std::string>& lines, int64_t since_ms);

// A record's labels as "{k=v,k2=v2}".
std::string labels_text(const nlohmann::json& labels);

// One series of a folded incident: "cpu_pct{pid=812}: observed 95, expected 2 [0, 5],
// score 12.3"; and one evidence record's rankings, a line each.
std::string incident_series_line(const nlohmann::json& series);
std::vector<std::string> evidence_lines(const nlohmann::json& evidence);

// One tune change: "cpu-share cgroup:/a: /sys/fs/cgroup/cpu/a/cpu.shares 1024 -> 4096 kept (...)".
std::string tune_change_line(const nlohmann::json& change);

// What the dashboard draws over [from_ms, to_ms] from a folded view: {"incidents": [{id,
// resource, start_ms, end_ms (0 while open), open, score, summary}], "tune": [{ts, change,
// tuner, object, knob, from, to, detail}]}: incidents that overlap the range, tune records
// within it.
nlohmann::json incident_annotations_json(const nlohmann::json& folded, int64_t from_ms,
                                         int64_t to_ms);

// The folded view as text for a terminal.
std::string incidents_text(const nlohmann::json& folded);

}  // namespace perfbpf
