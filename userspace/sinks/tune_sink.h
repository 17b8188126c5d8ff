// Text and JSON for `perfbpf tune`: plans and status, from the engine's values.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "tune/engine.h"

namespace perfbpf {

// {"changes": [...]}: tuner, knob, scope, original, current, proposed, evidence, ...
nlohmann::json tune_plan_json(const std::vector<tune::PlanEntry>& plan, uint64_t watched_ns);
std::string tune_plan_text(const std::vector<tune::PlanEntry>& plan, uint64_t watched_ns);

// {"changes": [...]}: ..., applied, outcome; "writer": who holds the lock, when anyone does.
nlohmann::json tune_status_json(const std::vector<tune::StatusEntry>& entries,
                                const std::optional<std::string>& writer);
std::string tune_status_text(const std::vector<tune::StatusEntry>& entries,
                             const std::optional<std::string>& writer);

}  // namespace perfbpf
