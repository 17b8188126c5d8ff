// The leak tracer's report as text, JSON (the contract in docs/leaks.md) and folded
// stacks (flamegraph.pl / speedscope), all from the same LeakReport.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/leaks.h"

namespace perfbpf {

nlohmann::json leaks_json(const LeakReport& r);
// leaks_json(r).dump(2), written without holding the whole tree (a report of thousands of
// stacks is a tree of millions of values, slower to build and free than to write).
std::string leaks_json_text(const LeakReport& r);
// Plain text; after a reachability scan its totals and the stacks holding definitely lost
// bytes first; then leaks, then the rest by outstanding bytes, `top` stacks at most.
std::string leaks_text(const LeakReport& r, size_t top, bool final_report);
// One line per stack: "outer;...;inner bytes" (outstanding bytes; growth mode: faulted).
std::string leaks_folded(const LeakReport& r);

}  // namespace perfbpf
