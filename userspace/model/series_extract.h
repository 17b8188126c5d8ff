// Time series of a Snapshot, derived from the metric catalogue: every metric field
// (counter, gauge, level, histogram) of every object becomes one series per interval.
//
// Series names: a field's JSON key ("cpu_pct"); for a field of a nested struct, its JSON path
// joined with '_' ("psi_cpu_some_avg10", "psi_io_full_total_us", "memory_current_bytes"); for
// an array, the key and the element's index ("loadavg_0", "loadavg_1", "loadavg_2": 1, 5
// and 15 minutes); for a map, the key, with the map's key as the label the catalogue names
// (packet_drops{reason="NO_SOCKET"}, tcp_states_entered{state="ESTABLISHED"}). A value that
// is not there has no series: an optional that is null, a nested struct that is absent (PSI
// that could not be read, a cgroup without memory data, PSI "full" on older kernels).
//
// Labels by object: system none; cpu {cpu}; device {device} (its name); netns {netns} (its
// name, else its inode); filesystem {device, mountpoint}; cgroup {cgroup} (path); process {cgroup,
// comm, pid, start}, start being start_time_ticks, so a reused pid starts a new series.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "model/catalogue.h"
#include "model/series.h"
#include "model/snapshot.h"

namespace perfbpf {

// Which processes get series of their own. Kept: the union of the top `top_processes` by
// each of cpu_pct, read+write bytes, TCP tx+rx bytes, rss_bytes and rss_growth_bytes (a
// process at 0 by a measure is not in its top), and every process whose comm equals one in
// `watch`. Exited processes take part like the others. The rest are summed into one set of
// series labelled {comm="other"}: counters, levels and gauges summed, histograms merged,
// except the gauges in µs (percentiles of a histogram: their sum means nothing; the
// merged histogram has the distribution).
// Processes younger than `min_age_s` at the end of the interval are not kept (unless
// watched): on a build server hundreds of compilers a minute would each start series of
// their own, which history and Prometheus keep long after they are gone; summed into
// `other`, what they did is still counted.
struct SeriesPolicy {
    size_t top_processes = 50;
    std::vector<std::string> watch;
    double min_age_s = 0;
};

// Seconds since a process started, from its start time in clock ticks since boot and the
// snapshot's end (CLOCK_MONOTONIC, which counts from boot too); 0 when the start time is
// unknown (a process that came and went within one interval).
double process_age_s(const ProcessSample& p, uint64_t end_monotonic_ns);

std::vector<SeriesSample> snapshot_series(const Snapshot& s, const SeriesPolicy& policy = {});

// One series name of the catalogue, for validating queries and alert rules.
struct FieldInfo {
    std::string name;  // series name (see above; a map's or array's is its field's key)
    std::string_view unit;
    MetricKind kind = MetricKind::gauge;
    std::string help;  // a nested field's help is prefixed with its struct's
    ObjectKind object = ObjectKind::system;
    std::string_view key_label;  // a map's: the label naming its keys; else ""
    // A counter whose interval value can be negative (rss_growth_bytes, a signed change):
    // summing it over time does not give a monotonic total.
    bool can_decrease = false;
};

// Every series name of every object, in catalogue order (system, cpu, process, cgroup,
// device, netns, filesystem). A name can stand for several objects (cpu_pct: process and cgroup);
// it has the same kind and unit on each.
const std::vector<FieldInfo>& metric_catalogue();
// The first entry for `name` (nullptr if no object has such a series).
const FieldInfo* find_metric(std::string_view name);
// Decimal places the history keeps of a metric's values past its first hour (-1: all):
// gauges and levels by unit (pct and tasks to 0.01, us to 0.1, bytes whole), ns to the µs
// (-3: thousands), other counters and histograms exactly. Noisy full-precision values
// (cpu_pct 12.345678..., ns counts) cost 2-8 bytes a point; at the resolution read, less.
int stored_decimals(std::string_view metric);
const FieldInfo* find_metric(std::string_view name, ObjectKind object);

}  // namespace perfbpf
