#include "cli/history_cli.h"

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "daemon/daemon.h"
#include "model/selector.h"
#include "sinks/daemon_status.h"
#include "util/files.h"

namespace perfbpf::cli {

int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Result<int64_t> since_ms(const std::string& text, int64_t now) {
    if (auto d = parse_duration_ms(text)) return now - *d;
    return parse_time_ms(text, now);
}

FiringAlerts daemon_firing_alerts(const std::string& state_dir, int64_t now_ms) {
    auto text = read_regular_file(state_dir + "/" + kDaemonStatusFile, 1 << 20);
    if (!text) return {};
    auto status = daemon_status_from_json(nlohmann::json::parse(*text, nullptr, false));
    if (!status) return {};
    const auto fresh_ms = static_cast<int64_t>(3000 * status->interval_s) + 2000;
    if (now_ms - status->updated_unix_ms > fresh_ms) return {};
    return status->firing;
}

std::optional<std::string> reading_state_dir(const std::string& state_dir,
                                             const std::string& config_path, int& status) {
    if (!state_dir.empty()) return state_dir;
    auto c = load_config(config_path);
    if (!c) {
        status = usage_error(c.error().message);
        return std::nullopt;
    }
    return c->state_dir;
}

void add_state_reader_options(CLI::App* cmd, StateReaderOptions& o) {
    cmd->add_option("--since", o.since,
                    "Start: a duration back from now (2h, 7d) or a time (default 24h)")
        ->type_name("WHEN");
    cmd->add_option("--state-dir", o.state_dir,
                    "The daemon's state dir (default from the config, /var/lib/perfbpf)")
        ->type_name("DIR");
    cmd->add_option("--config", o.config_path, "TOML config naming the state dir")
        ->type_name("FILE");
}

std::optional<History> open_history_for_reading(const std::string& state_dir,
                                                const std::string& config_path, int& status) {
    auto dir = reading_state_dir(state_dir, config_path, status);
    if (!dir) return std::nullopt;
    auto history = History::open_existing(*dir);
    if (!history) {
        std::fprintf(stderr, "perfbpf: %s\n", history.error().message.c_str());
        status = 1;
        return std::nullopt;
    }
    return std::move(*history);
}

}  // namespace perfbpf::cli
