// Helpers the tuner tests share: picking a recommendation out of a decision, a namespace
// filter, and a decision under a filter.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tune/tuner.h"

namespace perfbpf::tune::test {

inline std::optional<Recommendation> find_rec(const std::vector<Recommendation>& rs,
                                              const std::string& key, const Scope& scope) {
    for (const auto& r : rs)
        if (r.knob.key == key && r.knob.scope == scope) return r;
    return std::nullopt;
}
inline std::optional<Recommendation> find_rec(const std::vector<Recommendation>& rs,
                                              const KnobId& id) {
    for (const auto& r : rs)
        if (r.knob == id) return r;
    return std::nullopt;
}

inline ScopeFilter only_netns(const std::string& n) {
    ScopeFilter f;
    f.netns = {n};
    return f;
}

// `tuner`'s decision over window `w` with knob values `k`, under filter `f`.
inline std::vector<Recommendation> decide_with(const Tuner& tuner, const std::vector<Snapshot>& w,
                                               const KnobValues& k, const ScopeFilter& f) {
    TunerInput in{w, &k, &f};
    return tuner.decide(in);
}

}  // namespace perfbpf::tune::test
