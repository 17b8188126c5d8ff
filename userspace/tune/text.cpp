#include "tune/text.h"

#include <algorithm>

#include "util/format.h"

namespace perfbpf {

using tune::Unit;

std::string format_knob_value(const tune::KnobId& id, std::string_view value) {
    const tune::KnobSpec* spec = tune::find_knob_spec(id.kind, id.key);
    if (!spec || spec->unit == Unit::none || value == "max") return std::string(value);
    auto fields = tune::parse_int_fields(value);
    if (!fields || fields->empty()) return std::string(value);
    std::string out;
    for (int64_t f : *fields)
        out += (out.empty() ? "" : " / ") + format_quantity(double(f), spec->unit);
    return out;
}

std::string format_knob_change(const tune::KnobId& id, std::string_view from, std::string_view to) {
    std::string a = format_knob_value(id, from), b = format_knob_value(id, to);
    const tune::KnobSpec* spec = tune::find_knob_spec(id.kind, id.key);
    if (a == b && from != to && spec && (spec->unit == Unit::bytes || spec->unit == Unit::kib)) {
        // Rounded to three digits a small step vanishes: show it exactly, in KiB.
        auto exact = [&](std::string_view v) {
            auto f = tune::parse_int_fields(v);
            if (!f) return std::string(v);
            std::string s;
            for (int64_t x : *f)
                s += (s.empty() ? "" : " / ") +
                     format_fixed(spec->unit == Unit::kib ? double(x) : double(x) / 1024, 0) +
                     " KiB";
            return s;
        };
        a = exact(from);
        b = exact(to);
    }
    return a + " -> " + b;
}

std::string render_reason(std::string_view text, const tune::EvidenceList& evidence) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
        const size_t open = text.find('{', i);
        const size_t close = open == std::string_view::npos ? open : text.find('}', open);
        if (close == std::string_view::npos) {
            out += text.substr(i);
            break;
        }
        out += text.substr(i, open - i);
        const std::string_view name = text.substr(open + 1, close - open - 1);
        auto it = std::find_if(evidence.begin(), evidence.end(),
                               [&](const tune::Evidence& e) { return e.name == name; });
        out += it == evidence.end() ? "{" + std::string(name) + "?}"
                                    : format_quantity(it->value, it->unit);
        i = close + 1;
    }
    return out;
}

}  // namespace perfbpf
