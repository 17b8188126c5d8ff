// The tuner interface. A tuner turns evidence into recommended knob changes and does
// nothing else: the engine (tune/engine.h) reads the knobs it asks about, applies what it
// recommends within the allowlist's bounds and steps, journals every write, verifies each
// change against its target and guard metrics, and reverts what did not help.
//
// Shape of a tuner (one file pair in tune/tuners/, one line in tune/registry.cpp):
//
//   class MyTuner : public Tuner {
//       std::string_view name() const override { return "my-tuner"; }     // --only/--exclude
//       std::string_view summary() const override { return "..."; }       // --help, status
//       std::set<std::string> families() const override { return {"net"}; }  // probes needed
//       // The knobs (and read-only facts) decide() needs, for the objects in the evidence
//       // that the filter allows: e.g. net.ipv4.tcp_rmem @ netns:blue.
//       std::vector<KnobId> wants(const TunerInput& in) const override;
//       // Pure: the window and the knob values in, recommendations out. No files, no
//       // clock, no state between calls, so unit tests replay synthetic or recorded windows.
//       std::vector<Recommendation> decide(const TunerInput& in) const override;
//   };
//   std::unique_ptr<Tuner> make_my_tuner();
//
// Scopes: a recommendation's knob carries its scope (host, netns NAME, device NAME, cgroup
// PATH, pid N); the engine refuses any knob outside the run's scope filter, so tuners
// should skip objects the filter excludes (TunerInput::filter) and need not police it.
// Hysteresis is two-sided: a tuner keeps a dead band between its raise and lower
// conditions, and the engine's gate refuses to undo a recent change.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/snapshot.h"
#include "tune/knob.h"
#include "tune/scope.h"
#include "tune/verify.h"

namespace perfbpf::tune {

using KnobValues = std::map<KnobId, KnobValue>;

struct TunerInput {
    std::span<const Snapshot> window;  // oldest first, one snapshot per interval
    // Values of the knobs wants() named; a knob that could not be read is absent.
    const KnobValues* knobs = nullptr;
    const ScopeFilter* filter = nullptr;

    const KnobValue* knob(const KnobId& id) const {
        if (!knobs) return nullptr;
        auto it = knobs->find(id);
        return it == knobs->end() ? nullptr : &it->second;
    }
    bool allows(const Scope& s) const { return !filter || filter->allows(s); }
    // A knob that holds `n` integers (tcp_rmem: 3); nullopt when it was not read or holds
    // something else.
    std::optional<std::vector<int64_t>> int_fields(const KnobId& id, size_t n) const {
        const KnobValue* v = knob(id);
        if (!v) return std::nullopt;
        auto f = parse_int_fields(v->value);
        if (!f || f->size() != n) return std::nullopt;
        return *f;
    }
    // A knob that holds one integer (most sysctls and queue attributes).
    std::optional<int64_t> int_knob(const KnobId& id) const {
        auto f = int_fields(id, 1);
        return f ? std::optional<int64_t>((*f)[0]) : std::nullopt;
    }
};

// An interval's length in seconds; 1 s for a snapshot that does not say (synthetic windows).
inline double interval_seconds(const Snapshot& s) {
    return s.interval_ns ? double(s.interval_ns) / 1e9 : 1.0;
}
inline double window_seconds(std::span<const Snapshot> w) {
    double sum = 0;
    for (const Snapshot& s : w) sum += interval_seconds(s);
    return sum;
}

inline KnobId sysctl_knob(std::string key, Scope scope) {
    return {KnobKind::sysctl, std::move(key), std::move(scope)};
}

// One multiplicative step up from `cur` (from 1 when it is 0), at most `ceiling`.
inline int64_t step_up(int64_t cur, double factor, int64_t ceiling) {
    const double to = std::ceil(double(std::max<int64_t>(cur, 1)) * factor);
    return std::min<int64_t>(ceiling, static_cast<int64_t>(to));
}

// Where a namespace's own sysctls are written: the host's for the initial namespace, the
// named namespace's for one `ip netns` names; nowhere for an unnamed one.
inline std::optional<Scope> netns_scope(const NetnsSample& n) {
    if (n.name == "host") return Scope::host();
    if (n.name.empty()) return std::nullopt;
    return Scope::netns(n.name);
}

// A namespace scope in words, for reasons: "the host", "network namespace blue".
inline std::string netns_words(const Scope& s) {
    return s.kind == ScopeKind::host ? "the host" : "network namespace " + s.name;
}

// One number behind a recommendation. `name` is its JSON key; the reason may quote it as
// {name}, so that the words show the same value, in the same unit, as the evidence.
struct Evidence {
    std::string name;
    double value = 0;
    Unit unit = Unit::none;
};
using EvidenceList = std::vector<Evidence>;

struct Recommendation {
    KnobId knob;
    std::string current;   // as read
    std::string proposed;  // within one step of current
    int direction = 0;     // +1 raises, -1 lowers, 0 switches (choices)
    // The evidence in words. Every number in it is an evidence value quoted as {name}
    // (tune/text.h renders it), never formatted here.
    std::string reason;
    EvidenceList evidence;  // the numbers behind it
    std::string expected;   // the expected effect, in words
    Metric target;          // must improve beyond the noise for the change to stay
    Metric guard;           // must not get worse
    // A move that relieves pressure (memory.high raised while the cgroup stalls on memory):
    // waiting to verify it would prolong the harm the evidence shows. The gate lets it
    // through its rate limit, back-off and hysteresis (never past an administrator's
    // override); it is journaled and kept at once, without a verification window.
    bool relief = false;
    // How long the change takes to act, where that is longer than an interval: the engine's
    // verification skips at least this much after the write (besides --settle), so a
    // window inside the transition does not revert a change that works.
    double settle_s = 0;
    // Not a change but a note: why this tuner cannot act on the object (e.g. "memory.high
    // needs cgroup v2; /x is in the v1 memory hierarchy"). The plan shows it as not
    // applicable; auto mode never applies it. Only `knob` (naming the object) and
    // `reason` need filling.
    std::string unavailable;
};

class Tuner {
  public:
    virtual ~Tuner() = default;
    virtual std::string_view name() const = 0;
    virtual std::string_view summary() const = 0;
    virtual std::set<std::string> families() const = 0;
    virtual std::vector<KnobId> wants(const TunerInput& in) const = 0;
    virtual std::vector<Recommendation> decide(const TunerInput& in) const = 0;
};

}  // namespace perfbpf::tune
