// The daemon's status as JSON (its status file, `daemon --status --json`) and as text.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/daemon_status.h"
#include "util/result.h"

namespace perfbpf {

nlohmann::json daemon_status_json(const DaemonStatus& s);
Result<DaemonStatus> daemon_status_from_json(const nlohmann::json& j);
std::string render_daemon_status(const DaemonStatus& s, int64_t now_unix_ms);

}  // namespace perfbpf
