// `perfbpf daemon`: the collector of `top` (one code path) run all the time,
// each interval's Snapshot turned into series (the metric catalogue's names)
// and appended to the history in the state dir; reloads its config on request,
// sheds work when it costs more than its budget, retries probe families that
// did not load, and tells systemd how it is doing.
#pragma once

#include <atomic>
#include <optional>
#include <string>

namespace perfbpf {

struct DaemonOptions {
    std::string config_path;                  // "" -> the default path when present
    std::optional<std::string> state_dir;     // overrides [general] state_dir
    std::optional<double> interval_s;         // overrides [daemon] interval
    std::optional<std::string> listen;        // overrides [daemon] listen ("" serves nothing)
    int iterations = 0;                       // stop after this many intervals (0: never)
    const std::atomic<bool>* stop = nullptr;  // SIGTERM/SIGINT: flush and exit 0
    std::atomic<bool>* reload = nullptr;      // SIGHUP: reload the config
};

// Runs until `stop` (exit status 0), or fails at start (1: no privileges,
// history refused; 2: bad configuration).
int run_daemon(const DaemonOptions& opts);

// The name of the file, in the state dir, where the daemon keeps its status.
inline constexpr const char* kDaemonStatusFile = "daemon.status.json";

}  // namespace perfbpf
