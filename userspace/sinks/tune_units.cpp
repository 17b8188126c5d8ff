#include "sinks/tune_units.h"

#include "util/format.h"

namespace perfbpf {
namespace {

using tune::Unit;

// Unit suffixes an evidence name may spell, longest first where one ends another.
std::string_view suffix_of(Unit u) {
    switch (u) {
        case Unit::share:
            return "_share";
        case Unit::pct:
            return "_pct";
        case Unit::bytes:
            return "_bytes";
        case Unit::kib:
            return "_kib";
        case Unit::us:
            return "_us";
        case Unit::ms_per_s:
            return "_ms_per_s";
        case Unit::per_s:
            return "_per_s";
        case Unit::bytes_per_s:
            return "_bytes_per_s";
        case Unit::cpus:
            return "_cpus";
        case Unit::none:
        case Unit::count:
            return "";
    }
    return "";
}

}  // namespace

std::string evidence_label(const tune::Evidence& e) {
    const std::string_view suffix = suffix_of(e.unit);
    std::string_view name = e.name;
    if (!suffix.empty() && name.size() > suffix.size() && name.ends_with(suffix))
        name.remove_suffix(suffix.size());
    return std::string(name);
}

std::string format_evidence(const tune::EvidenceList& evidence) {
    std::string out;
    for (const auto& e : evidence) {
        std::string label = evidence_label(e);
        // syn_drops_per_s beside syn_drops: the short label would name two values.
        for (const auto& other : evidence)
            if (&other != &e && (other.name == label || evidence_label(other) == label))
                label = e.name;
        out += (out.empty() ? "" : ", ") + label + " " + format_quantity(e.value, e.unit);
    }
    return out;
}

}  // namespace perfbpf
