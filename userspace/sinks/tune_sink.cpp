#include "sinks/tune_sink.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "sinks/tune_units.h"
#include "util/format.h"

namespace perfbpf {
namespace {

using nlohmann::json;
using tune::Outcome;

json scope_fields(const tune::KnobId& id) {
    return {{"scope", tune::to_string(id.scope)},
            {"scope_kind", tune::scope_kind_name(id.scope.kind)},
            {"scope_name", id.scope.name},
            {"knob_kind", tune::knob_kind_name(id.kind)},
            {"key", id.key}};
}

const char* unit_name(tune::Unit u) {
    switch (u) {
        case tune::Unit::none:
            return "";
        case tune::Unit::count:
            return "count";
        case tune::Unit::bytes:
            return "bytes";
        case tune::Unit::kib:
            return "KiB";
        case tune::Unit::share:
            return "ratio";
        case tune::Unit::pct:
            return "percent";
        case tune::Unit::us:
            return "us";
        case tune::Unit::ms_per_s:
            return "ms/s";
        case tune::Unit::per_s:
            return "1/s";
        case tune::Unit::bytes_per_s:
            return "bytes/s";
        case tune::Unit::cpus:
            return "CPUs";
    }
    return "";
}

// A word the shell passes through unchanged, else single-quoted.
std::string shell_word(const std::string& w) {
    const bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_-./:,=@+", c);
    });
    if (plain) return w;
    std::string out = "'";
    for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string plural(size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string tune_apply_command(const tune::PlanEntry& e) {
    std::string cmd = "perfbpf tune --auto --only " + shell_word(e.tuner);
    const tune::Scope& s = e.rec.knob.scope;
    switch (s.kind) {
        case tune::ScopeKind::host:
            break;
        case tune::ScopeKind::netns:
            cmd += " --netns " + shell_word(s.name);
            break;
        case tune::ScopeKind::device:
            cmd += " --device " + shell_word(s.name);
            break;
        case tune::ScopeKind::cgroup:
            cmd += " --cgroup " + shell_word(s.name);
            break;
        case tune::ScopeKind::pid:
            cmd += " --pid " + shell_word(s.name);
            break;
    }
    return cmd;
}

std::string tune_progress_line(uint64_t watched_ns, uint64_t want_ns) {
    const uint64_t left_ns = want_ns > watched_ns ? want_ns - watched_ns : 0;
    const auto left_s = static_cast<uint64_t>((left_ns + 999'999'999) / 1'000'000'000);
    return "watching: " + std::to_string(left_s) + " s left (Ctrl-C stops early)";
}

std::string tune_rollback_summary(const tune::RollbackReport& r) {
    std::string out = "rolled back: " + plural(r.in_journal, "knob", "knobs") +
                      " in the journal: " + std::to_string(r.restored) + " restored, " +
                      std::to_string(r.already) + " already at their originals, ";
    if (r.restored_earlier) out += std::to_string(r.restored_earlier) + " restored earlier, ";
    out += std::to_string(r.left_alone) + " left alone, ";
    if (r.left_alone_earlier)
        out += std::to_string(r.left_alone_earlier) + " left to someone else earlier, ";
    return out + std::to_string(r.failures) + " failed";
}

json tune_plan_json(const std::vector<tune::PlanEntry>& plan, uint64_t watched_ns) {
    json changes = json::array();
    for (const auto& e : plan) {
        json ev = json::object(), units = json::object();
        for (const auto& x : e.rec.evidence) {
            ev[x.name] = x.value;
            units[x.name] = unit_name(x.unit);
        }
        json j = {{"tuner", e.tuner},
                  {"knob", e.display},
                  {"original", e.original},
                  {"current", e.rec.current},
                  {"proposed", e.rec.proposed},
                  {"evidence", ev},
                  {"evidence_units", units},
                  {"reason", render_reason(e.rec.reason, e.rec.evidence)},
                  {"expected", e.rec.expected},
                  {"target", e.rec.target.spec.name},
                  {"guard", e.rec.guard.spec.name}};
        j.update(scope_fields(e.rec.knob));
        if (!e.blocked.empty())
            j["blocked"] = e.blocked;
        else
            j["apply_command"] = tune_apply_command(e);
        if (e.is_note()) j["unavailable"] = e.rec.unavailable;
        if (e.rec.relief) j["relief"] = true;
        changes.push_back(std::move(j));
    }
    return {{"watched_ns", watched_ns}, {"changes", std::move(changes)}};
}

std::string tune_plan_text(const std::vector<tune::PlanEntry>& plan, uint64_t watched_ns) {
    std::string out = "watched " + format_fixed(double(watched_ns) / 1e9, 1) + " s: ";
    const size_t notes = static_cast<size_t>(
        std::count_if(plan.begin(), plan.end(), [](const auto& e) { return e.is_note(); }));
    const size_t changes = plan.size() - notes;
    if (changes == 0)
        out += "nothing to change\n";
    else
        out += std::to_string(changes) + " recommendation" + (changes == 1 ? "" : "s") +
               " (nothing was changed)\n";
    for (const auto& e : plan) {
        out += "\n" + e.tuner + "  " + e.display + " [" + tune::to_string(e.rec.knob.scope) + "]\n";
        if (e.is_note()) {
            out += "  not applicable: " + e.rec.unavailable + "\n";
            continue;
        }
        const tune::KnobId& id = e.rec.knob;
        out += "  " + format_knob_change(id, e.rec.current, e.rec.proposed);
        if (e.original != e.rec.current)
            out += "   (original " + format_knob_value(id, e.original) + ")";
        out += "\n  why: " + render_reason(e.rec.reason, e.rec.evidence) + "\n";
        out += "  evidence: " + format_evidence(e.rec.evidence) + "\n";
        out += "  expected: " + e.rec.expected + "; verified by " + e.rec.target.spec.name +
               ", guarded by " + e.rec.guard.spec.name + "\n";
        if (e.rec.relief)
            out += "  relief: applied without waiting for the rate limit, kept unverified\n";
        if (!e.blocked.empty())
            out += "  not applicable: " + e.blocked + "\n";
        else
            out += "  apply: sudo " + tune_apply_command(e) + "\n";
    }
    return out;
}

json tune_status_json(const std::vector<tune::StatusEntry>& entries,
                      const std::optional<std::string>& writer) {
    json changes = json::array();
    for (const auto& e : entries) {
        const tune::KnobRecord& r = e.record;
        json j = {{"tuner", r.tuner},
                  {"knob", r.display},
                  {"original", r.original},
                  {"current", e.current_error.empty() ? json(e.current) : json(nullptr)},
                  {"applied", r.to},
                  {"previous", r.from},
                  {"evidence", r.evidence},
                  {"reason", r.reason},
                  {"expected", r.expected},
                  {"target", r.target},
                  {"guard", r.guard},
                  {"outcome", tune::outcome_name(r.outcome)},
                  {"detail", r.detail},
                  {"verification", r.verification},
                  {"changed", e.changed},
                  {"changed_unix_ms", r.changed_unix_ms}};
        if (!e.current_error.empty()) j["current_error"] = e.current_error;
        if (!e.note.empty()) j["note"] = e.note;
        j.update(scope_fields(r.id));
        changes.push_back(std::move(j));
    }
    json out = {{"changes", std::move(changes)}};
    out["writer"] = writer ? json(*writer) : json(nullptr);
    return out;
}

std::string tune_status_text(const std::vector<tune::StatusEntry>& entries,
                             const std::optional<std::string>& writer) {
    std::string out =
        writer ? "tune --auto running: " + *writer + "\n" : std::string("no tune --auto running\n");
    size_t changed = 0;
    for (const auto& e : entries) changed += e.changed;
    if (entries.empty()) return out + "the journal lists no knob: nothing was changed\n";
    out += std::to_string(changed) + " knob" + (changed == 1 ? "" : "s") + " changed now, " +
           std::to_string(entries.size()) + " in the journal\n";
    for (const auto& e : entries) {
        const tune::KnobRecord& r = e.record;
        out += "\n" + r.display + " [" + tune::to_string(r.id.scope) + "]  " +
               tune::outcome_name(r.outcome) + (e.changed ? ", changed" : "") + "\n";
        out += "  original " + format_knob_value(r.id, r.original) + ", applied " +
               format_knob_value(r.id, r.to) + ", now " +
               (e.current_error.empty() ? format_knob_value(r.id, e.current)
                                        : "unreadable (" + e.current_error + ")") +
               "\n";
        if (!r.tuner.empty()) out += "  by " + r.tuner + ": " + r.reason + "\n";
        if (!r.detail.empty()) out += "  " + r.detail + "\n";
        if (!e.note.empty()) out += "  " + e.note + "\n";
        if (r.outcome == Outcome::pending && !writer && e.changed)
            out +=
                "  (its verification stopped with the run that made it; --rollback restores it)\n";
    }
    return out;
}

}  // namespace perfbpf
