// The text a user types to pick series and times: `metric{label="v",label=~"re"}`, `90s`,
// `2026-12-05T03:12:00Z`, `-2h`. Shared by `perfbpf query`, the HTTP API and alert rules, so
// all three read the same language and report the same errors.
#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "model/series.h"
#include "util/result.h"

namespace perfbpf {

struct LabelMatcher {
    enum class Op : uint8_t { eq, ne, re, nre };
    std::string name;
    Op op = Op::eq;
    std::string value;
    // Compiled once at parse time for =~ and !~; shared so a Selector stays copyable.
    std::shared_ptr<const std::regex> re;
};

struct Selector {
    std::string metric;  // empty: any metric (then at least one label matcher)
    std::vector<LabelMatcher> matchers;
};

// metric{name="v",name!="v",name=~"re",name!~"re"}; errors name the column (1-based) and
// what was expected there. Regexes match the whole value, as in Prometheus.
Result<Selector> parse_selector(std::string_view text);

// A missing label counts as the empty value, so name!="x" matches series without `name`.
bool matches(const Selector& selector, const SeriesKey& key);

// "90s", "5m", "2h", "7d", "1w", "250ms", "1.5h", "1h30m"; > 0, no overflow.
Result<int64_t> parse_duration_ms(std::string_view text);

// RFC 3339 ("2026-12-05T03:12:00Z", "...+02:00", fractions), local time without a zone
// ("2026-12-05T03:12:00" or with a space), unix seconds ("1796440320", "1796440320.5"),
// "now", and "-2h" (a duration before now_ms).
Result<int64_t> parse_time_ms(std::string_view text, int64_t now_ms);

}  // namespace perfbpf
