#include "tune/engine.h"

#include <algorithm>

#include "tune/registry.h"
#include "tune/text.h"

namespace perfbpf::tune {
namespace {

using nlohmann::json;

json evidence_json(const Recommendation& r) {
    json e = json::object();
    for (const auto& x : r.evidence) e[x.name] = x.value;
    return e;
}

std::vector<double> sample(const Metric& m, std::span<const Snapshot> snaps) {
    std::vector<double> out;
    if (!m.value) return out;
    for (const auto& s : snaps)
        if (auto v = m.value(s)) out.push_back(*v);
    return out;
}

bool tuner_selected(const std::set<std::string>& only, const std::string& tuner) {
    return only.empty() || only.contains(tuner);
}

}  // namespace

Result<std::vector<std::unique_ptr<Tuner>>> select_tuners(const std::set<std::string>& only,
                                                          const std::set<std::string>& exclude) {
    const auto names = tuner_names();
    for (const auto* set : {&only, &exclude})
        for (const auto& n : *set)
            if (std::find(names.begin(), names.end(), n) == names.end()) {
                std::string all;
                for (const auto& k : names) all += (all.empty() ? "" : ", ") + k;
                return fail("unknown tuner '" + n + "' (tuners: " + all + ")");
            }
    std::vector<std::unique_ptr<Tuner>> out;
    for (auto& t : make_all_tuners()) {
        const std::string name(t->name());
        if ((!only.empty() && !only.contains(name)) || exclude.contains(name)) continue;
        out.push_back(std::move(t));
    }
    if (out.empty()) return fail("--only/--exclude leave no tuner to run");
    return out;
}

Engine::Engine(const Knobs& knobs, std::vector<std::unique_ptr<Tuner>> tuners, EngineOptions opts)
    : knobs_(knobs), tuners_(std::move(tuners)), opts_(std::move(opts)), gate_(opts_.gate) {}

std::set<std::string> Engine::families() const {
    std::set<std::string> out;
    for (const auto& t : tuners_) out.merge(t->families());
    return out;
}

std::vector<PlanEntry> Engine::plan(std::span<const Snapshot> window,
                                    const JournalState* journal) const {
    std::vector<PlanEntry> out;
    for (const auto& t : tuners_) {
        TunerInput in{window, nullptr, &opts_.filter};
        KnobValues values;
        for (const KnobId& id : t->wants(in)) {
            if (!opts_.filter.allows(id.scope)) continue;
            if (auto v = knobs_.read(id)) values[id] = std::move(*v);
        }
        in.knobs = &values;
        for (Recommendation& r : t->decide(in)) {
            // Defence in depth: whatever a tuner proposes, only allowed objects and one
            // allowlisted step.
            if (!opts_.filter.allows(r.knob.scope)) continue;
            if (!r.unavailable.empty()) {
                // A note, not a change: shown, never applied.
                PlanEntry e;
                e.tuner = std::string(t->name());
                e.display = knobs_.display_name(r.knob);
                e.blocked = r.unavailable;
                e.rec = std::move(r);
                out.push_back(std::move(e));
                continue;
            }
            const KnobSpec* spec = find_knob_spec(r.knob.kind, r.knob.key);
            auto cur = values.find(r.knob);
            if (!spec || check_scope(*spec, r.knob.scope).has_value() == false ||
                cur == values.end())
                continue;
            PlanEntry e;
            e.tuner = std::string(t->name());
            e.display = knobs_.display_name(r.knob);
            e.original = cur->second.value;
            if (journal) {
                auto it = journal->knobs.find(r.knob);
                if (it != journal->knobs.end() && !it->second.closed())
                    e.original = it->second.original;
            }
            auto checked = check_change(*spec, cur->second, r.proposed);
            if (!checked) {
                e.blocked = checked.error().message;
            } else {
                r.proposed = *checked;
                if (r.proposed == cur->second.value) continue;
            }
            e.rec = std::move(r);
            out.push_back(std::move(e));
        }
    }
    return out;
}

Result<std::vector<EngineEvent>> Engine::check_overrides(Journal& journal) {
    std::vector<EngineEvent> out;
    // A copy: appending to the journal replaces its state.
    const auto records = journal.state().knobs;
    for (const auto& [id, rec] : records) {
        if (rec.closed() || gate_.is_hands_off(id) || rec.open_write) continue;
        if (!opts_.filter.allows(id.scope)) continue;
        auto v = knobs_.read(id);
        if (!v || v->value == rec.left) continue;
        // An administrator's (or another tool's) value wins: record it, never touch it again.
        if (auto r = journal.overridden(id, v->value); !r) return std::unexpected(r.error());
        gate_.hands_off(id);
        kept_.erase(id);
        out.push_back({EngineEvent::Kind::overridden,
                       rec.display + " was changed by someone else (" +
                           format_knob_change(id, rec.left, v->value) + "): leaving it alone"});
        if (pending_ && pending_->rec.knob == id) pending_.reset();
    }
    return out;
}

Result<std::optional<EngineEvent>> Engine::apply(const PlanEntry& e, Journal& journal,
                                                 int64_t now_ms) {
    const Recommendation& r = e.rec;
    if (!e.blocked.empty()) return std::optional<EngineEvent>();
    if (!gate_.blocked(r.knob, r.proposed, r.direction, now_ms, r.relief).empty())
        return std::optional<EngineEvent>();
    const std::string reason = render_reason(r.reason, r.evidence);
    const std::string what = e.display + " " + format_knob_change(r.knob, r.current, r.proposed) +
                             " (" + e.tuner + ": " + reason + ")";
    if (opts_.dry_run) {
        gate_.applied(r.knob, r.current, r.proposed, r.direction, now_ms);
        return std::optional<EngineEvent>(
            EngineEvent{EngineEvent::Kind::would_apply, "would change " + what});
    }
    auto who = knobs_.identity(r.knob.scope);
    if (!who)
        return std::optional<EngineEvent>(
            EngineEvent{EngineEvent::Kind::failed, e.display + ": " + who.error().message});
    auto now = knobs_.read(r.knob);
    if (!now || now->value != r.current)
        return std::optional<EngineEvent>();  // moved meanwhile: next round
    auto it = journal.state().knobs.find(r.knob);
    if (it == journal.state().knobs.end() || it->second.closed()) {
        if (auto o = journal.original(r.knob, e.display, *who, now->value); !o)
            return std::unexpected(o.error());
    }
    Journal::Change c{r.knob,          e.tuner,    r.current,          r.proposed,
                      reason,          r.expected, r.target.spec.name, r.guard.spec.name,
                      evidence_json(r)};
    auto seq = journal.change(c);
    if (!seq) return std::unexpected(seq.error());  // nothing written to the knob
    auto written = knobs_.write(r.knob, r.proposed);
    Result<std::string> result =
        written ? Result<std::string>(written->value) : std::unexpected(written.error());
    if (auto d = journal.done(*seq, result); !d) return std::unexpected(d.error());
    gate_.applied(r.knob, r.current, r.proposed, r.direction, now_ms);
    if (!written) {
        gate_.reverted(r.knob, r.proposed, now_ms);
        return std::optional<EngineEvent>(
            EngineEvent{EngineEvent::Kind::failed,
                        "could not change " + what + ": " + written.error().message});
    }
    if (r.relief) {
        // Kept at once: verifying would prolong the stalls it ends. The window restarts, so
        // the next decision is made on evidence measured under the new value.
        if (auto o = journal.outcome(*seq, Outcome::kept, "relief: kept without verification",
                                     evidence_json(r));
            !o)
            return std::unexpected(o.error());
        kept_.insert(r.knob);
        window_.clear();
        relief_settle_ = opts_.settle;
        return std::optional<EngineEvent>(
            EngineEvent{EngineEvent::Kind::applied, "changed " + what + "; kept (relief)"});
    }
    Pending p;
    p.seq = *seq;
    p.tuner = e.tuner;
    p.rec = r;
    p.display = e.display;
    p.settle = opts_.settle;
    if (r.settle_s > 0 && !window_.empty())
        p.settle =
            std::max(p.settle,
                     static_cast<size_t>(std::ceil(r.settle_s / interval_seconds(window_.back()))));
    std::vector<Snapshot> before(window_.begin(), window_.end());
    p.target_before = sample(r.target, before);
    p.guard_before = sample(r.guard, before);
    pending_ = std::move(p);
    window_.clear();
    return std::optional<EngineEvent>(EngineEvent{
        EngineEvent::Kind::applied, "changed " + what + "; verifying " + r.target.spec.name});
}

Result<void> Engine::revert(Journal& journal, const Pending& p, const std::string& why,
                            const std::string& detail, const json& numbers) {
    if (auto o = journal.outcome(p.seq, Outcome::reverted, detail, numbers); !o)
        return std::unexpected(o.error());
    auto seq = journal.restore(p.rec.knob, p.rec.current, why);
    if (!seq) return std::unexpected(seq.error());
    auto back = knobs_.restore(p.rec.knob, p.rec.current);
    Result<std::string> result =
        back ? Result<std::string>(back->value) : std::unexpected(back.error());
    if (auto d = journal.done(*seq, result); !d) return std::unexpected(d.error());
    if (!back) return fail("reverting " + p.display + ": " + back.error().message);
    return {};
}

Result<EngineEvent> Engine::resolve(Journal& journal, int64_t now_ms) {
    Pending p = std::move(*pending_);
    pending_.reset();
    Verification v = verify_change(p.rec.target.spec, p.target_before, p.target_after,
                                   p.rec.guard.spec, p.guard_before, p.guard_after, opts_.verify);
    json numbers = {{"target", p.rec.target.spec.name},
                    {"target_before", v.target_before.mean},
                    {"target_after", v.target_after.mean},
                    {"target_margin", v.target_margin},
                    {"target_samples", {v.target_before.n, v.target_after.n}},
                    {"target_values_before", p.target_before},
                    {"target_values_after", p.target_after},
                    {"target_rank_p", v.target_rank.p},
                    {"guard", p.rec.guard.spec.name},
                    {"guard_before", v.guard_before.mean},
                    {"guard_after", v.guard_after.mean},
                    {"guard_margin", v.guard_margin}};
    if (v.keep) {
        if (auto o = journal.outcome(p.seq, Outcome::kept, v.detail, numbers); !o)
            return std::unexpected(o.error());
        kept_.insert(p.rec.knob);
        return EngineEvent{EngineEvent::Kind::kept,
                           "kept " + p.display + " = " +
                               format_knob_value(p.rec.knob, p.rec.proposed) + ": " + v.detail};
    }
    if (auto r = revert(journal, p, "revert", v.detail, numbers); !r)
        return std::unexpected(r.error());
    gate_.reverted(p.rec.knob, p.rec.proposed, now_ms);
    window_.clear();  // measured under a value that is gone: the next decision starts afresh
    return EngineEvent{EngineEvent::Kind::reverted,
                       "reverted " + p.display + " to " +
                           format_knob_value(p.rec.knob, p.rec.current) + ": " + v.detail};
}

Result<std::vector<EngineEvent>> Engine::step(Snapshot snap, Journal& journal, int64_t now_ms) {
    auto events = check_overrides(journal);
    if (!events) return events;
    window_.push_back(std::move(snap));
    // After a relief move, as after a verified one, the transition counts for no window: the
    // interval the write fell in, and the kernel's own lag (a task throttled over memory.high
    // sleeps out its penalty, up to 2 s, after the limit is raised), are not the new value's.
    if (relief_settle_ > 0) {
        --relief_settle_;
        window_.clear();
        return events;
    }
    if (pending_) {
        ++pending_->seen;
        if (pending_->seen <= pending_->settle) {
            window_.clear();  // the transition counts for neither side
            return events;
        }
        const Snapshot& s = window_.back();
        if (pending_->rec.target.value)
            if (auto v = pending_->rec.target.value(s)) pending_->target_after.push_back(*v);
        if (pending_->rec.guard.value)
            if (auto v = pending_->rec.guard.value(s)) pending_->guard_after.push_back(*v);
        const size_t after = opts_.verify_window ? opts_.verify_window : opts_.window;
        if (pending_->seen < pending_->settle + after) return events;
        auto e = resolve(journal, now_ms);
        if (!e) return std::unexpected(e.error());
        events->push_back(std::move(*e));
    }
    while (window_.size() > opts_.window) window_.pop_front();
    if (window_.size() < opts_.window) return events;
    std::vector<Snapshot> w(window_.begin(), window_.end());
    for (const PlanEntry& e : plan(w, &journal.state())) {
        auto applied = apply(e, journal, now_ms);
        if (!applied) return std::unexpected(applied.error());
        if (!*applied) continue;
        events->push_back(std::move(**applied));
        if (pending_) break;  // one change at a time, so its effect is its own
    }
    return events;
}

Result<std::vector<EngineEvent>> Engine::stop(Journal& journal) {
    std::vector<EngineEvent> out;
    if (!pending_) return out;
    Pending p = std::move(*pending_);
    pending_.reset();
    if (auto r =
            revert(journal, p, "stop", "stopped before the change was verified", json::object());
        !r)
        return std::unexpected(r.error());
    out.push_back({EngineEvent::Kind::reverted, "reverted " + p.display + " to " +
                                                    format_knob_value(p.rec.knob, p.rec.current) +
                                                    ": stopped before it was verified"});
    return out;
}

Result<RollbackReport> rollback(Journal& journal, const Knobs& knobs, const ScopeFilter& filter,
                                const std::set<std::string>& only_tuners, const std::string& why,
                                const std::set<KnobId>& only_knobs) {
    RollbackReport rep;
    // Copy: the journal's state changes as we append.
    const auto records = journal.state().knobs;
    for (const auto& [id, rec] : records) {
        if (!filter.allows(id.scope) || !tuner_selected(only_tuners, rec.tuner)) continue;
        if (!only_knobs.empty() && !only_knobs.contains(id)) continue;
        const std::string name = rec.display.empty() ? knobs.display_name(id) : rec.display;
        ++rep.in_journal;
        if (rec.closed()) {
            const bool theirs = rec.outcome == Outcome::overridden || rec.outcome == Outcome::gone;
            ++(theirs ? rep.left_alone_earlier : rep.restored_earlier);
            rep.lines.push_back(
                name + ": nothing to do: " + outcome_name(rec.outcome) + " earlier" +
                (theirs ? "" : ", at its original " + format_knob_value(id, rec.original)));
            continue;
        }
        auto who = knobs.identity(id.scope);
        if (!who || (!rec.identity.empty() && *who != rec.identity)) {
            std::string detail = who ? to_string(id.scope) + " is another object now (" +
                                           rec.identity + ", now " + *who + ")"
                                     : who.error().message;
            if (auto g = journal.gone(id, detail); !g) return std::unexpected(g.error());
            rep.lines.push_back(name + ": not restored: " + detail);
            ++rep.left_alone;
            continue;
        }
        auto cur = knobs.read(id);
        if (!cur) {
            rep.lines.push_back(name + ": cannot read it: " + cur.error().message);
            ++rep.failures;
            continue;
        }
        if (cur->value != rec.original && !rec.written.contains(cur->value)) {
            if (auto o = journal.overridden(id, cur->value); !o) return std::unexpected(o.error());
            rep.lines.push_back(name + ": left at " + format_knob_value(id, cur->value) +
                                ", set by someone else (original " +
                                format_knob_value(id, rec.original) + ")");
            ++rep.left_alone;
            continue;
        }
        auto seq = journal.restore(id, rec.original, why);
        if (!seq) return std::unexpected(seq.error());
        if (cur->value == rec.original) {
            if (auto d = journal.done(*seq, rec.original); !d) return std::unexpected(d.error());
            rep.lines.push_back(name + ": already at its original " +
                                format_knob_value(id, rec.original));
            ++rep.already;
            continue;
        }
        auto back = knobs.restore(id, rec.original);
        Result<std::string> result =
            back ? Result<std::string>(back->value) : std::unexpected(back.error());
        if (auto d = journal.done(*seq, result); !d) return std::unexpected(d.error());
        if (!back) {
            rep.lines.push_back(name + ": restoring " + format_knob_value(id, rec.original) +
                                " failed: " + back.error().message);
            ++rep.failures;
            continue;
        }
        rep.lines.push_back(name + ": " + format_knob_change(id, cur->value, rec.original) +
                            " (original)");
        ++rep.restored;
    }
    return rep;
}

std::vector<StatusEntry> status(const JournalState& journal, const Knobs& knobs,
                                const ScopeFilter& filter,
                                const std::set<std::string>& only_tuners) {
    std::vector<StatusEntry> out;
    for (const auto& [id, rec] : journal.knobs) {
        if (!filter.allows(id.scope) || !tuner_selected(only_tuners, rec.tuner)) continue;
        StatusEntry e;
        e.record = rec;
        auto v = knobs.read(id);
        if (v)
            e.current = v->value;
        else
            e.current_error = v.error().message;
        e.changed = !rec.closed();
        if (e.changed && v && v->value == rec.original) {
            e.changed = false;
            e.note = rec.open_write != 0
                         ? "not applied: the run stopped before writing " +
                               format_knob_value(id, rec.to) + "; the knob holds its original " +
                               format_knob_value(id, rec.original)
                         : "the knob holds its original " + format_knob_value(id, rec.original) +
                               " again, though the journal has " + format_knob_value(id, rec.left) +
                               " on it";
        }
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace perfbpf::tune
