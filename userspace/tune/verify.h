// Whether a change helped, and whether a knob may change now. Pure: numbers in, verdicts
// out, so every rule is unit-tested.
//
// Verification: each change names a target metric (what should improve) and a guard metric
// (what must not get worse). The engine samples both once per interval in a window before
// the change and in a window after it (after a settling interval). The change is kept only
// when the target improved by more than the noise margin, which comes from the spread of the
// window before (noise_k standard errors of the difference of the means, at least
// min_rel_gain of the mean and the metric's own absolute floor), and the guard did not get
// worse by more than its margin (the same rule with guard_rel_tol). Otherwise it is reverted.
//
// The gate: per knob, at most one change per min_gap; a change that was reverted is not
// tried again for backoff (doubling each time it is reverted again); a change in the
// opposite direction of the previous one (or back to the previous choice) waits reverse_gap
// (hysteresis: evidence that flips back and forth cannot make a knob oscillate); a knob
// someone else changed is never touched again by this run. A relief move (one that ends
// harm the evidence shows now, such as memory stalls) waits for none of these, but never
// touches a knob someone else changed either.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/snapshot.h"
#include "tune/knob.h"
#include "tune/unit.h"

namespace perfbpf::tune {

enum class Better { higher, lower };

struct MetricSpec {
    std::string name;  // "read_bytes_per_s @ device:loop3"
    Better better = Better::higher;
    double abs_floor = 0;    // differences below this are noise, whatever the spread
    Unit unit = Unit::none;  // how the verdict's text shows its values
};

// A metric the engine can sample: its value in one snapshot, nullopt when the snapshot
// has nothing to say (the device did no I/O; such intervals are left out).
struct Metric {
    MetricSpec spec;
    std::function<std::optional<double>(const Snapshot&)> value;
};

struct SampleStats {
    size_t n = 0;
    double mean = 0, sd = 0;  // sd: sample standard deviation (0 when n < 2)
};
SampleStats sample_stats(const std::vector<double>& v);

// One-sided Mann-Whitney: the chance, were both windows drawn from one distribution, that
// `after` beats `before` in at least as many (before, after) pairs as it does (a tie counts
// half; the exact null distribution without ties). `better` says which way is better.
struct RankTest {
    double wins = 0;   // pairs where after is better, ties half
    size_t pairs = 0;  // before.size() * after.size()
    double p = 1;
};
RankTest rank_test(const std::vector<double>& before, const std::vector<double>& after,
                   Better better);

struct VerifyPolicy {
    double noise_k = 2.0;
    double min_rel_gain = 0.05;
    double guard_rel_tol = 0.10;
    size_t min_samples = 3;  // in each window, for each metric
};

struct Verification {
    bool keep = false;
    std::string detail;  // one line: the numbers and the rule that decided
    SampleStats target_before, target_after, guard_before, guard_after;
    double target_margin = 0, guard_margin = 0;
    RankTest target_rank;
};

Verification verify_change(const MetricSpec& target, const std::vector<double>& target_before,
                           const std::vector<double>& target_after, const MetricSpec& guard,
                           const std::vector<double>& guard_before,
                           const std::vector<double>& guard_after, const VerifyPolicy& policy);

struct GatePolicy {
    int64_t min_gap_ms = 60'000;
    int64_t backoff_ms = 600'000;
    int64_t reverse_gap_ms = 300'000;
};

class ChangeGate {
  public:
    explicit ChangeGate(GatePolicy p = {}) : policy_(p) {}

    // Why `id` may not change to `to` now ("" when it may). `direction`: +1 raises, -1
    // lowers, 0 switches (a choice). A `relief` move (Recommendation::relief) passes the
    // rate limit, back-off and hysteresis; only a hands-off knob blocks it.
    std::string blocked(const KnobId& id, const std::string& to, int direction, int64_t now_ms,
                        bool relief = false) const;
    void applied(const KnobId& id, const std::string& from, const std::string& to, int direction,
                 int64_t now_ms);
    // The change to `to` did not verify and was undone.
    void reverted(const KnobId& id, const std::string& to, int64_t now_ms);
    void hands_off(const KnobId& id) { hands_off_.insert(id); }
    bool is_hands_off(const KnobId& id) const { return hands_off_.contains(id); }

  private:
    struct Last {
        int64_t at_ms = 0;
        int direction = 0;
        std::string from, to;
    };
    struct Backoff {
        int64_t until_ms = 0;
        int64_t length_ms = 0;
    };
    GatePolicy policy_;
    std::map<KnobId, Last> last_;
    std::map<std::pair<KnobId, std::string>, Backoff> backoff_;
    std::set<KnobId> hands_off_;
};

}  // namespace perfbpf::tune
