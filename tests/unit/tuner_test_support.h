// Helpers the tuner tests share: picking a recommendation out of a decision, and the ids and
// filters of per-namespace sysctls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tune/tuner.h"

namespace perfbpf::tune::test {

inline KnobId sysctl_id(const char* key, Scope scope) {
    return {KnobKind::sysctl, key, std::move(scope)};
}

inline std::optional<Recommendation> find_rec(const std::vector<Recommendation>& rs,
                                              const std::string& key, const Scope& scope) {
    for (const auto& r : rs)
        if (r.knob.key == key && r.knob.scope == scope) return r;
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
