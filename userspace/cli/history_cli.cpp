#include "cli/history_cli.h"

#include <chrono>
#include <cstdio>

#include "config/config.h"
#include "store/selector.h"

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
