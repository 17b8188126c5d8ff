// How bad a verdict or an alert is. Here, below detect/, because what the daemon reports
// about itself (model/daemon_status.h) names the severity of the alerts firing.
#pragma once

#include <optional>
#include <string_view>

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

}  // namespace perfbpf
