// Text and JSON for `perfbpf tune`: plans and status, from the engine's values.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "tune/plan.h"

namespace perfbpf {

// {"changes": [...]}: tuner, knob, scope, original, current, proposed, evidence, ...
nlohmann::json tune_plan_json(const std::vector<tune::PlanEntry>& plan, uint64_t watched_ns);
std::string tune_plan_text(const std::vector<tune::PlanEntry>& plan, uint64_t watched_ns);

// The command line that would apply a plan entry: `perfbpf tune --auto --only TUNER` with
// the flag that names its object (--device, --netns, --cgroup, --pid); host-wide knobs
// need none.
std::string tune_apply_command(const tune::PlanEntry& e);

// While --plan watches, on a terminal: "watching: 7 s left (Ctrl-C stops early)".
std::string tune_progress_line(uint64_t watched_ns, uint64_t want_ns);

// "rolled back: 1 knob in the journal: 0 restored, ..., 1 restored earlier, ...": every
// knob the journal holds (after the filters) is counted once.
std::string tune_rollback_summary(const tune::RollbackReport& r);

// {"changes": [...]}: ..., applied, outcome; "writer": who holds the lock, when anyone does.
nlohmann::json tune_status_json(const std::vector<tune::StatusEntry>& entries,
                                const std::optional<std::string>& writer);
std::string tune_status_text(const std::vector<tune::StatusEntry>& entries,
                             const std::optional<std::string>& writer);

}  // namespace perfbpf
