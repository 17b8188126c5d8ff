// `perfbpf report`'s numbers: the queries a report needs against the daemon's history and
// the tune journal's changes, reduced by detect/report.h into a Report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "detect/report.h"
#include "store/history.h"
#include "tune/journal.h"
#include "util/result.h"

namespace perfbpf {

struct ReportOptions {
    int64_t from_ms = 0, to_ms = 0;  // [from, to)
    int64_t now_ms = 0;              // when the report is made
    size_t top_n = 10;
    // The records of the daemon's incidents.jsonl (sinks/incident_log.h); null: none read.
    const std::vector<std::string>* incident_records = nullptr;
};

// The report of [from, to). `journal` (nullable): the tune journal of the same state dir.
// A history without intervals in the range gives a Report with intervals == 0.
Result<Report> build_report(History& history, const ReportOptions& options,
                            const tune::JournalState* journal);

}  // namespace perfbpf
