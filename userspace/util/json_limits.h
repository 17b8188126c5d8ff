// Parsing JSON we did not write ourselves (recordings, the tune journal): nlohmann's DOM is
// recursive to copy, compare and dump, so a line of 100k nested '[' overflows the stack
// long after parsing. Deep documents are refused before nlohmann sees them.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "util/result.h"

namespace perfbpf {

// Nothing perfbpf writes nests deeper than about 6; 64 leaves room without risking the stack.
inline constexpr size_t kMaxJsonDepth = 64;

// One JSON document, or "nested deeper than N levels" / "not valid JSON". Callers add
// the file and line.
Result<nlohmann::json> parse_json_bounded(std::string_view text, size_t max_depth = kMaxJsonDepth);

}  // namespace perfbpf
