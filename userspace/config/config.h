// One typed configuration, loaded from TOML and validated; CLI flags override it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "detect/thresholds.h"
#include "util/result.h"

namespace perfbpf {

struct Config {
    double interval_s = 1.0;  // [top] interval
    int sample_hz = 49;       // [probes] sample_hz: cpu-clock samples per CPU per second
    std::string state_dir = "/var/lib/perfbpf";  // [general] state_dir
    Thresholds thresholds;                       // [thresholds] <field> = value
};

// The file perfbpf reads when --config is not given (absent is fine).
inline constexpr const char* kDefaultConfigPath = "/etc/perfbpf/perfbpf.toml";

// Parses TOML text. Unknown keys, wrong types and out-of-range values are errors naming
// the key and the allowed range. `origin` names the file in messages.
Result<Config> parse_config(const std::string& toml_text, const std::string& origin);

// A config larger than this is refused, not read (--config /dev/zero read forever).
inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;

// Loads `path`; when `path` is empty, loads kDefaultConfigPath if it exists, else defaults.
Result<Config> load_config(const std::string& path);

}  // namespace perfbpf
