// What a history query returns: per series its points at the step's resolution, and the
// storage tiers those points come from. Plain values in model/ so detectors (detect/report.h)
// compute over query results without depending on the store that produces them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/histogram.h"
#include "model/series.h"
#include "util/enum_table.h"

namespace perfbpf {

// The storage tiers: raw intervals, then minute and hour rollups.
enum class Tier : uint8_t { raw = 0, minute = 1, hour = 2 };
inline constexpr auto kTierNames =
    enum_table<Tier>("tier", {{Tier::raw, "raw"}, {Tier::minute, "1m"}, {Tier::hour, "1h"}});
inline constexpr size_t kTiers = 3;
// Resolution of each tier's points (raw: the collection interval itself).
inline constexpr std::array<int64_t, kTiers> kTierResolutionMs = {0, 60'000, 3'600'000};

// One point of a query: raw (count 1) or aggregated over a step.
struct QueryPoint {
    int64_t ts_ms = 0;  // raw: the interval's timestamp; stepped: the step's start
    double value = 0;   // counter: sum; gauge: mean; level: last; histogram: p99 in µs
    double min = 0, max = 0, sum = 0, last = 0;
    uint64_t count = 0;             // intervals merged into this point
    double p50_us = 0, p99_us = 0;  // histogram series, from the merged slots
};

struct SeriesResult {
    SeriesKey key;
    MetricKind kind = MetricKind::gauge;
    Tier tier = Tier::raw;  // the tier the step chose (finer tiers fill in what it lacks)
    std::vector<QueryPoint> points;
    // Histogram series: the merged slots of each point (kept apart: 256 bytes a point that
    // scalar series, most of them, would carry for nothing).
    std::vector<Log2Histogram> hists;
};

}  // namespace perfbpf
