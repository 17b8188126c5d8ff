// Snapshot + verdicts as JSON: the contract documented in the README.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "detect/verdict.h"
#include "model/series.h"
#include "model/snapshot.h"

namespace perfbpf {

// Keys in catalogue order: interval, system and verdicts first.
nlohmann::ordered_json snapshot_json(const Snapshot& s, const std::vector<Verdict>& verdicts);
nlohmann::json histogram_json(const Log2Histogram& h);
// Labels as an object, {"pid": "42", "comm": "spin"}.
nlohmann::json labels_json(const Labels& labels);
nlohmann::json probe_status_json(const std::vector<ProbeStatus>& probes);

}  // namespace perfbpf
