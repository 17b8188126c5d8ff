// Bottleneck verdicts (USE method) over a window of snapshots.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "detect/thresholds.h"
#include "model/severity.h"
#include "model/snapshot.h"

namespace perfbpf {

struct Verdict {
    std::string resource;  // "cpu", "disk", "memory", "network"
    Severity severity = Severity::ok;
    std::string evidence;  // one line of numbers that justify the severity
    std::string subject;   // the device/process/cgroup most responsible, if any
    // Seconds of snapshots the verdict was judged over (the window, not one interval), so a
    // screen can say which window its numbers cover; 0 when not known.
    double window_s = 0;
};

// One verdict per resource, worst first. `window` is oldest-first and holds at least one
// snapshot; rates are averaged over it, so one noisy interval does not flip a verdict.
std::vector<Verdict> assess(std::span<const Snapshot> window, const Thresholds& t);

}  // namespace perfbpf
