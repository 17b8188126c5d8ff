// What the commands that read the daemon's history share: opening it from --state-dir or
// the config's state dir, and reading --since.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "sinks/top_view.h"
#include "store/history.h"
#include "util/result.h"

namespace perfbpf::cli {

int64_t now_unix_ms();

// "2h" (a duration back from now) or a time.
Result<int64_t> since_ms(const std::string& text, int64_t now);

// `state_dir`, else the config's state dir; on a bad config the message is printed and
// `status` set to 2.
std::optional<std::string> reading_state_dir(const std::string& state_dir,
                                             const std::string& config_path, int& status);

// The history in `state_dir` (else the config's state dir), opened for reading; on failure
// the message is printed and `status` set (2: bad config, 1: no or unreadable history).
// The alerts a running daemon with this state dir has firing, from its status file; none
// when there is no daemon, or its status is older than three of its intervals and 2 s (it
// stopped or hangs: its alerts are not known to be firing any more).
FiringAlerts daemon_firing_alerts(const std::string& state_dir, int64_t now_ms);

// What a reader of the daemon's state takes: --since, --state-dir and --config.
struct StateReaderOptions {
    std::string since = "24h";
    std::string state_dir;
    std::string config_path;
};
void add_state_reader_options(CLI::App* cmd, StateReaderOptions& o);

std::optional<History> open_history_for_reading(const std::string& state_dir,
                                                const std::string& config_path, int& status);

}  // namespace perfbpf::cli
