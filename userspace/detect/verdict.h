// Bottleneck verdicts (USE method) over a window of snapshots.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "detect/thresholds.h"
#include "model/snapshot.h"
#include "util/enum_table.h"

namespace perfbpf {

enum class Severity { ok, warning, critical };
inline constexpr auto kSeverityNames = enum_table<Severity>(
    "severity",
    {{Severity::ok, "ok"}, {Severity::warning, "warning"}, {Severity::critical, "critical"}});
inline const char* severity_name(Severity s) {
    return kSeverityNames.name(s);
}
// The inverse of severity_name; nullopt for anything else.
inline std::optional<Severity> parse_severity(std::string_view name) {
    return kSeverityNames.find(name);
}

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
