#include "daemon/daemon_tune.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "sinks/incident_json.h"

namespace perfbpf {
namespace {

using nlohmann::json;

// The gate's clock: steady, as `tune --auto` keeps it (a wall clock step would lift or
// extend its rate limits).
int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string hint_text(const TuneHint& h) {
    return h.tuner + " for " + h.scope_kind + " " + h.object;
}

tune::ScopeFilter filter_of(const TuneHint& h) {
    tune::ScopeFilter f;
    auto& names = h.scope_kind == "cgroup"   ? f.cgroups
                  : h.scope_kind == "device" ? f.devices
                  : h.scope_kind == "netns"  ? f.netns
                                             : f.pids;
    names.push_back(h.object);
    return f;
}

}  // namespace

DaemonTune::DaemonTune(const Config& config, std::string state_dir)
    : state_dir_(std::move(state_dir)) {
    reconfigure(config);
}

DaemonTune::~DaemonTune() = default;

void DaemonTune::reconfigure(const Config& config) {
    if (enabled_ && !config.tune.auto_tune) {
        stop_all(0, "auto-tune turned off");
        slots_.clear();
    }
    enabled_ = config.tune.auto_tune;
    if (enabled_ && !knobs_) knobs_ = std::make_unique<tune::Knobs>(tune::KnobRoots::discover());
    if (enabled_)
        spdlog::info("auto-tune on: tuners named by alerts and incidents run for their objects");
}

bool DaemonTune::open_journal() {
    if (journal_) return true;
    auto j = tune::Journal::open(state_dir_, "perfbpf daemon (auto-tune)");
    if (!j) {
        if (j.error().message != journal_error_)
            spdlog::warn("auto-tune paused: {}", j.error().message);
        journal_error_ = j.error().message;
        return false;
    }
    if (!journal_error_.empty()) spdlog::info("auto-tune: journal {} open again", j->path());
    journal_error_.clear();
    journal_.emplace(std::move(*j));
    // What the journal got while this run did not hold it (earlier runs, `perfbpf tune`,
    // a rollback) is not this run's doing: only what its engines do from now on is reported.
    for (const tune::KnobRecord& k : journal_->state().history)
        reported_.insert_or_assign(k.change_seq, tune_change_name(k));
    return true;
}

DaemonTune::Slot* DaemonTune::slot_for(const TuneRequest& r) {
    auto it = slots_.find(r.hint);
    if (it != slots_.end()) return &it->second;
    if (slots_.size() >= kMaxEngines) {
        if (refused_.insert(r.hint).second)
            spdlog::warn("auto-tune: not consulting {}: {} tuners and objects already",
                         hint_text(r.hint), kMaxEngines);
        return nullptr;
    }
    auto tuners = tune::select_tuners({r.hint.tuner}, {});
    if (!tuners) {
        spdlog::warn("auto-tune: {}", tuners.error().message);
        return nullptr;
    }
    tune::EngineOptions o;
    o.only = {r.hint.tuner};
    o.filter = filter_of(r.hint);
    Slot s;
    s.engine = std::make_unique<tune::Engine>(*knobs_, std::move(*tuners), std::move(o));
    return &slots_.emplace(r.hint, std::move(s)).first->second;
}

void DaemonTune::log_events(const TuneHint& hint, const std::vector<tune::EngineEvent>& events) {
    for (const tune::EngineEvent& e : events) {
        if (e.kind == tune::EngineEvent::Kind::failed ||
            e.kind == tune::EngineEvent::Kind::reverted ||
            e.kind == tune::EngineEvent::Kind::overridden)
            spdlog::warn("auto-tune ({}): {}", hint_text(hint), e.text);
        else
            spdlog::info("auto-tune ({}): {}", hint_text(hint), e.text);
    }
}

// The journal's changes and outcomes not reported yet, as records and series, credited to
// the slot that just ran (one engine steps at a time).
void DaemonTune::report(Slot& slot, int64_t ts_ms, Output& out) {
    for (const tune::KnobRecord& k : journal_->state().history) {
        const std::string change = tune_change_name(k);
        auto [it, fresh] = reported_.try_emplace(k.change_seq, change);
        if (!fresh && it->second == change) continue;
        it->second = change;
        json r = tune_record(ts_ms, slot.subject, k);
        const std::string object = r["object"], knob = r["knob"];
        out.records.push_back(std::move(r));
        out.series.push_back(
            {{kTuneChangeMetric,
              {{"change", change}, {"knob", knob}, {"object", object}, {"tuner", k.tuner}}},
             MetricKind::level,
             1,
             {}});
    }
}

DaemonTune::Output DaemonTune::on_interval(const Snapshot& snap,
                                           const std::vector<TuneRequest>& requests) {
    Output out;
    if (!enabled_) return out;
    std::map<TuneHint, const TuneRequest*> wanted;
    for (const TuneRequest& r : requests) wanted.try_emplace(r.hint, &r);
    for (const auto& [hint, r] : wanted)
        if (Slot* s = slot_for(*r)) s->subject = r->subject;
    const bool any = std::ranges::any_of(slots_, [&](const auto& kv) {
        return wanted.contains(kv.first) || kv.second.engine->verifying();
    });
    if (!any) {
        for (auto& [hint, s] : slots_) s.ran = false;
        journal_.reset();  // the lock goes with it: `tune --rollback` may run now
        return out;
    }
    if (!open_journal()) return out;
    const int64_t now = steady_ms();
    for (auto& [hint, s] : slots_) {
        const bool run = wanted.contains(hint) || s.engine->verifying();
        if (!run) {
            s.ran = false;
            continue;
        }
        if (!s.ran) {
            spdlog::info("auto-tune: consulting {} ({})", hint_text(hint), s.subject.dump());
            s.engine->restart_window();
        }
        s.ran = true;
        auto events = s.engine->step(snap, *journal_, now);
        if (!events) {
            // A journal that cannot be written stops everything: no knob may change
            // without its record.
            spdlog::error("auto-tune: {}; stopping auto-tune until reload", events.error().message);
            report(s, snap.end_unix_ms, out);
            enabled_ = false;
            journal_.reset();
            return out;
        }
        log_events(hint, *events);
        report(s, snap.end_unix_ms, out);
    }
    return out;
}

DaemonTune::Output DaemonTune::stop_all(int64_t ts_ms, const char* why) {
    Output out;
    const bool verifying =
        std::ranges::any_of(slots_, [](const auto& kv) { return kv.second.engine->verifying(); });
    if (!verifying || !open_journal()) {
        journal_.reset();
        return out;
    }
    for (auto& [hint, s] : slots_) {
        if (!s.engine->verifying()) continue;
        auto events = s.engine->stop(*journal_);
        if (!events) {
            spdlog::error("auto-tune ({}): {}: {}", hint_text(hint), why, events.error().message);
            continue;
        }
        log_events(hint, *events);
        report(s, ts_ms, out);
    }
    journal_.reset();
    return out;
}

DaemonTune::Output DaemonTune::stop(int64_t ts_ms) {
    if (!enabled_) return {};
    return stop_all(ts_ms, "stopping");
}

}  // namespace perfbpf
