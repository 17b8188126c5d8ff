// The daemon's auto-tune ([tune] auto = true): the tune engine of `perfbpf tune --auto`, with
// all its guardrails (journal in the state dir, one verified change at a time, revert when a
// change does not help, the allowlist, the change gate), run only for the objects alerts and
// incidents name a tuner for (detect/tune_hint.h), and only while they fire or are open (or
// while a change of it is still being verified).
//
// One engine per (tuner, object), kept for the daemon's life so its gate remembers rate
// limits and back-offs across alerts; at most kMaxEngines of them. The journal's lock is held
// only while an engine runs, so `perfbpf tune --rollback` works while the daemon idles.
// Every journaled change and outcome becomes a record for incidents.jsonl (naming the alert
// or incident it was made for) and a tune_change series in the history.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "detect/tune_hint.h"
#include "model/series.h"
#include "model/snapshot.h"
#include "tune/engine.h"

namespace perfbpf {

inline constexpr const char* kTuneChangeMetric = "tune_change";

// A reason to consult a tuner this interval: its hint and what named it ({"incident": id}
// or {"alert": alert_ref}).
struct TuneRequest {
    TuneHint hint;
    nlohmann::json subject;
};

class DaemonTune {
  public:
    static constexpr size_t kMaxEngines = 16;

    DaemonTune(const Config& config, std::string state_dir);
    ~DaemonTune();
    bool enabled() const { return enabled_; }
    // On reload: turning auto off stops every engine (a change being verified is reverted).
    void reconfigure(const Config& config);

    struct Output {
        std::vector<nlohmann::json> records;  // for incidents.jsonl
        std::vector<SeriesSample> series;     // tune_change{tuner,object,knob,change} = 1
    };
    // One interval: the engines of `requests` (and those still verifying) see `snap`.
    Output on_interval(const Snapshot& snap, const std::vector<TuneRequest>& requests);
    // Stopping: changes still being verified are reverted (they were never shown to help).
    Output stop(int64_t ts_ms);

  private:
    struct Slot {
        std::unique_ptr<tune::Engine> engine;
        nlohmann::json subject;
        bool ran = false;  // stepped in the last interval
    };
    bool open_journal();
    void report(Slot& slot, int64_t ts_ms, Output& out);
    void log_events(const TuneHint& hint, const std::vector<tune::EngineEvent>& events);
    Slot* slot_for(const TuneRequest& r);
    Output stop_all(int64_t ts_ms, const char* why);

    bool enabled_ = false;
    std::string state_dir_;
    std::unique_ptr<tune::Knobs> knobs_;
    std::optional<tune::Journal> journal_;
    std::string journal_error_;  // the last reason it could not be opened (logged once)
    std::map<TuneHint, Slot> slots_;
    std::set<TuneHint> refused_;                // past kMaxEngines: logged once each
    std::map<uint64_t, std::string> reported_;  // change seq -> the outcome last reported
};

}  // namespace perfbpf
