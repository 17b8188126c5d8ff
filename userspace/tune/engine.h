// The tune engine: runs the tuners over a window of snapshots and, in auto mode, applies
// their recommendations through the knob layer with every guardrail: scope filter,
// allowlist bounds and steps, the journal (original first, intent before each write, the
// result after), one change at a time verified against its target and guard metrics (kept
// or reverted), the change gate (rate limit, back-off, hysteresis) and override detection
// (a knob of ours someone else changed is recorded and left alone). A relief move
// (Recommendation::relief) goes through the gate's delays and is kept unverified; a note
// (Recommendation::unavailable) is shown in plans and never applied. No kernel handles:
// the caller feeds snapshots, so unit tests drive it with synthetic ones on a fake tree.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tune/journal.h"
#include "tune/knobs.h"
#include "tune/plan.h"
#include "tune/tuner.h"
#include "tune/verify.h"

namespace perfbpf::tune {

struct EngineOptions {
    std::set<std::string> only, exclude;  // tuner names
    ScopeFilter filter;
    size_t window = 5;         // intervals a decision looks at (and that verify a change)
    size_t verify_window = 0;  // intervals that verify a change after it; 0: window
    size_t settle = 1;         // intervals after a change that neither side counts
    VerifyPolicy verify;
    GatePolicy gate;
    bool dry_run = false;
};

// The tuners of the registry that --only/--exclude select; unknown names are an error.
Result<std::vector<std::unique_ptr<Tuner>>> select_tuners(const std::set<std::string>& only,
                                                          const std::set<std::string>& exclude);

// What auto mode did in one step, for the CLI to print.
struct EngineEvent {
    enum class Kind { applied, would_apply, kept, reverted, overridden, failed, note };
    Kind kind = Kind::note;
    std::string text;
};

class Engine {
  public:
    Engine(const Knobs& knobs, std::vector<std::unique_ptr<Tuner>> tuners, EngineOptions opts);

    // Probe families the selected tuners read.
    std::set<std::string> families() const;

    // Every recommendation over `window`, after the scope filter and the allowlist; nothing
    // is written. `journal` (may be null) supplies originals of knobs already changed.
    std::vector<PlanEntry> plan(std::span<const Snapshot> window,
                                const JournalState* journal) const;

    // Auto mode: one interval's snapshot. `now_ms` is the gate's clock.
    Result<std::vector<EngineEvent>> step(Snapshot snap, Journal& journal, int64_t now_ms);
    // Stopping: a change still being verified is reverted (it was never shown to help).
    Result<std::vector<EngineEvent>> stop(Journal& journal);
    bool verifying() const { return pending_.has_value(); }
    // A pause in the snapshots (the daemon feeds an engine only while an alert or incident
    // names its tuner): the window before it is not contiguous with what follows, so the
    // next decision waits for a fresh one. The gate's memory (rate limit, back-off) stays.
    void restart_window() { window_.clear(); }
    // Knobs this run changed and kept.
    const std::set<KnobId>& kept() const { return kept_; }

  private:
    struct Pending {
        uint64_t seq = 0;
        std::string tuner;
        Recommendation rec;
        std::string display;
        std::vector<double> target_before, guard_before, target_after, guard_after;
        size_t seen = 0;    // snapshots since the change
        size_t settle = 0;  // of them, how many neither side counts
    };
    Result<std::vector<EngineEvent>> check_overrides(Journal& journal);
    Result<std::optional<EngineEvent>> apply(const PlanEntry& e, Journal& journal, int64_t now_ms);
    Result<EngineEvent> resolve(Journal& journal, int64_t now_ms);
    Result<void> revert(Journal& journal, const Pending& p, const std::string& why,
                        const std::string& detail, const nlohmann::json& numbers);

    const Knobs& knobs_;
    std::vector<std::unique_ptr<Tuner>> tuners_;
    EngineOptions opts_;
    ChangeGate gate_;
    std::deque<Snapshot> window_;
    std::optional<Pending> pending_;
    size_t relief_settle_ = 0;  // snapshots still to drop after a relief move
    std::set<KnobId> kept_;
};

// Restores every knob the journal shows changed (those of the selected tuners and allowed
// scopes; `only_knobs` when not empty) to its original. Knobs someone else changed since are
// recorded as overridden and left; knobs whose object vanished or was replaced are
// recorded as gone. Idempotent.
Result<RollbackReport> rollback(Journal& journal, const Knobs& knobs, const ScopeFilter& filter,
                                const std::set<std::string>& only_tuners, const std::string& why,
                                const std::set<KnobId>& only_knobs = {});

std::vector<StatusEntry> status(const JournalState& journal, const Knobs& knobs,
                                const ScopeFilter& filter,
                                const std::set<std::string>& only_tuners);

}  // namespace perfbpf::tune
