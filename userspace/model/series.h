// A time series is one metric of one object: named by the metric catalogue's field name
// (`cpu_pct`, `runq_lat_p99_us`, `read_bytes`), with labels for its object (`pid`, `comm`,
// `cgroup`, `device`, `cpu`, `netns`). History, the Prometheus exposition, alert rules and
// `perfbpf query` all speak in these, so what `top --json` calls a field is what a query
// asks for.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/histogram.h"
#include "util/enum_table.h"

namespace perfbpf {

// How a metric's value behaves over time; decides how coarser tiers aggregate it.
enum class MetricKind : uint8_t {
    counter,    // a total within the interval (bytes, events, ns): sums over time
    gauge,      // a rate or share over the interval (cpu_pct): averages over time
    level,      // a level at the end of the interval (rss_bytes): last, min, max over time
    histogram,  // log2 slots of a duration in µs within the interval: slots merge over time
};
inline constexpr auto kMetricKindNames =
    enum_table<MetricKind>("metric kind", {{MetricKind::counter, "counter"},
                                           {MetricKind::gauge, "gauge"},
                                           {MetricKind::level, "level"},
                                           {MetricKind::histogram, "histogram"}});

// Label name -> value, sorted by name, names unique.
using Labels = std::vector<std::pair<std::string, std::string>>;

struct SeriesKey {
    std::string metric;
    Labels labels;
    auto operator<=>(const SeriesKey&) const = default;
};

// One series' value for one interval.
struct SeriesSample {
    SeriesKey key;
    MetricKind kind = MetricKind::gauge;
    double value = 0;    // counter, gauge, level
    Log2Histogram hist;  // histogram
    // The number SeriesSpan::add gave this sample's key: the same every interval while the
    // series lasts, never given to another key; 0 for none (derived, restored series). A
    // lookup that found the same id at the same position last time skips comparing the
    // key's strings (SeriesHints): four such compares a series an interval were 6 % of the
    // daemon's own CPU at 1 s.
    uint64_t id = 0;
};

}  // namespace perfbpf
