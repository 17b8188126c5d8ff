// Snapshot + verdicts as JSON: the contract documented in the README.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "detect/verdict.h"
#include "model/snapshot.h"

namespace perfbpf {

// Keys in catalogue order: interval, system and verdicts first.
nlohmann::ordered_json snapshot_json(const Snapshot& s, const std::vector<Verdict>& verdicts);
nlohmann::json histogram_json(const Log2Histogram& h);
nlohmann::json probe_status_json(const std::vector<ProbeStatus>& probes);

}  // namespace perfbpf
