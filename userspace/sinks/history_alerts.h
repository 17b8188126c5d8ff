// `perfbpf alerts`: the alerts the daemon recorded in its history (alert_state series,
// daemon/daemon_alerts.h) as episodes: when each fired and when it resolved.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "store/history.h"

namespace perfbpf {

struct AlertEpisode {
    std::string alert, severity;
    Labels object;                // the series' labels without alert and severity
    int64_t start_ms = 0;         // first interval firing (or the start of the range read)
    int64_t end_ms = 0;           // the interval it resolved or left the severity; 0 while active
    bool daemon_stopped = false;  // no resolution was recorded: the history just ends
};

// A series not written for this long is no longer being written: the daemon stopped (its
// interval is at most 1 h).
inline constexpr int64_t kAlertSeriesStaleMs = 3'600'000;

// Episodes from alert_state series, active ones first, then by start, newest first. An
// episode whose series stops at 1 is active when its last point is within `stale_ms` of
// now_ms, else it ended (daemon_stopped) at its last point.
std::vector<AlertEpisode> alert_episodes(const std::vector<SeriesResult>& series, int64_t now_ms,
                                         int64_t stale_ms);

// {"active": [...], "past": [...]}, each {"alert", "severity", "labels", "start", "end"}
// (RFC 3339 UTC; end null while active).
nlohmann::json alert_episodes_json(const std::vector<AlertEpisode>& episodes);
// A table: state, alert, severity, object, since, until, duration.
std::string render_alert_episodes(const std::vector<AlertEpisode>& episodes, int64_t now_ms);

}  // namespace perfbpf
