#include "cli/history_cli.h"

#include <unistd.h>

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

int usage_error(const std::string& message) {
    std::fprintf(stderr, "perfbpf: %s\n", message.c_str());
    return 2;
}

std::optional<History> open_history_for_reading(const std::string& state_dir,
                                                const std::string& config_path, int& status) {
    std::string dir = state_dir;
    if (dir.empty()) {
        auto c = load_config(config_path);
        if (!c) {
            status = usage_error(c.error().message);
            return std::nullopt;
        }
        dir = c->state_dir;
    }
    if (::access((dir + "/history.db").c_str(), F_OK) != 0) {
        std::fprintf(stderr,
                     "perfbpf: no history in %s (is perfbpf daemon running with --state-dir "
                     "%s?)\n",
                     dir.c_str(), dir.c_str());
        status = 1;
        return std::nullopt;
    }
    auto history = History::open(dir);
    if (!history) {
        std::fprintf(stderr, "perfbpf: %s\n", history.error().message.c_str());
        status = 1;
        return std::nullopt;
    }
    return std::move(*history);
}

}  // namespace perfbpf::cli
