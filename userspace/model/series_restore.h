// The inverse of snapshot_series: one interval's series (as history stores them) back into
// a Snapshot, so `top --history` and compact recordings show the past on the same screen,
// with verdicts recomputed from the same fields. Only metric fields and object labels are
// in history: text that is not a metric (why PSI or memory data is unavailable, the
// source of a latency) comes back empty, and nested structs (PSI, cgroup memory) come back
// present exactly when any of their series is there.
#pragma once

#include <cstdint>
#include <vector>

#include "model/series.h"
#include "model/snapshot.h"

namespace perfbpf {

// `samples`: every series of one interval (any order). `interval_ns` and `end_unix_ms`
// describe the interval. Processes summed as `other` come back as one process with pid 0
// and comm "other".
Snapshot snapshot_from_series(const std::vector<SeriesSample>& samples, uint64_t interval_ns,
                              int64_t end_unix_ms);

}  // namespace perfbpf
