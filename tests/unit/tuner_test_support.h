// Helpers the tuner tests share: picking a recommendation out of a decision, a namespace
// filter, and a decision under a filter.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sinks/tune_sink.h"
#include "sinks/tune_units.h"
#include "tune/engine.h"
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

// The reason as plans show it, every {name} replaced by its evidence value.
inline std::string reason_text(const Recommendation& r) {
    return render_reason(r.reason, r.evidence);
}
// The evidence value `name` of `r` (a failure when it has none).
inline double evidence_value(const Recommendation& r, const std::string& name) {
    for (const auto& e : r.evidence)
        if (e.name == name) return e.value;
    ADD_FAILURE() << "no evidence " << name;
    return -1;
}

// `perfbpf tune`'s plan text for one recommendation of `tuner` over a 5 s watch.
inline std::string plan_text(const std::string& tuner, const Recommendation& r) {
    PlanEntry e;
    e.tuner = tuner;
    e.rec = r;
    e.display = r.knob.key;
    e.original = r.current;
    return tune_plan_text({e}, 5'000'000'000);
}
// Plan text in human units: every {name} resolved, no raw byte counts (6+ digits), no
// floats with many decimals, no name=value pairs.
inline void expect_human_units(const std::string& text) {
    EXPECT_EQ(text.find('{'), std::string::npos) << text;
    static const std::regex raw("[0-9]{6,}|[0-9]\\.[0-9]{3,}|=[0-9-]");
    EXPECT_FALSE(std::regex_search(text, raw)) << text;
}

// `tuner`'s decision over window `w` with knob values `k`, under filter `f`.
inline std::vector<Recommendation> decide_with(const Tuner& tuner, const std::vector<Snapshot>& w,
                                               const KnobValues& k, const ScopeFilter& f) {
    TunerInput in{w, &k, &f};
    return tuner.decide(in);
}

}  // namespace perfbpf::tune::test
