// The limit a series runs into, for forecasts of when it gets there: a filesystem's size,
// a cgroup's memory.high or memory.max, the machine's memory. Pure: names the series that
// hold the limit; the caller reads their newest values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/series.h"

namespace perfbpf {

struct LimitCandidate {
    SeriesKey series;     // fs_size_bytes{device,mountpoint}, memory_max_bytes{cgroup}, ...
    std::string meaning;  // what reaching it means: "vda1 full", "/app.slice at memory.max"
};

struct LimitRule {
    // Tried in order; the first with a value (above 0) is the limit. A tighter limit comes
    // first: memory.high throttles before memory.max kills.
    std::vector<LimitCandidate> candidates;
    // A fixed limit instead (free space reaching 0), with its meaning.
    std::optional<double> constant;
    std::string constant_meaning;
    bool upward = true;  // the series rises to the limit (false: falls to it)
};

// The rule for a series, or nullopt when perfbpf knows no limit for its metric.
std::optional<LimitRule> limit_rule(const SeriesKey& key);

// Metrics limit_rule() knows, for the help text and usage errors.
const std::vector<std::string_view>& metrics_with_limits();

}  // namespace perfbpf
