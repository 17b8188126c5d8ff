// One series' sample for one interval, as snapshot_series makes them: for tests of what
// consumes series (the exposition, alert rules, spans).
#pragma once

#include <string>
#include <utility>

#include "model/series.h"

namespace perfbpf::test {

inline SeriesSample series_sample(std::string metric, Labels labels, MetricKind kind,
                                  double value) {
    SeriesSample s;
    s.key = {std::move(metric), std::move(labels)};
    s.kind = kind;
    s.value = value;
    return s;
}

}  // namespace perfbpf::test
