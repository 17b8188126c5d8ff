#include "util/json_limits.h"

#include <string>

namespace perfbpf {
namespace {

// The deepest nesting of arrays and objects, counting brackets outside strings; stops
// counting once past `limit`. Brackets in malformed text are counted as they come: the
// parser refuses such text anyway, this only has to bound what reaches it.
size_t nesting_depth(std::string_view text, size_t limit) {
    size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest) deepest = depth;
            if (deepest > limit) break;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

}  // namespace

Result<nlohmann::json> parse_json_bounded(std::string_view text, size_t max_depth) {
    if (nesting_depth(text, max_depth) > max_depth)
        return fail("nested deeper than " + std::to_string(max_depth) + " levels");
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return fail("not valid JSON");
    return j;
}

}  // namespace perfbpf
