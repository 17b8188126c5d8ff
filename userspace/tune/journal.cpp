#include "tune/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "util/files.h"
#include "util/json_limits.h"
#include "util/safe_open.h"

namespace perfbpf::tune {
namespace {

using nlohmann::json;

int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The history entry of the knob a record touched follows the knob's latest change.
void sync_history(JournalState& st, const json& r) {
    KnobId id;
    if (r.contains("knob")) {
        auto parsed = knob_id_from_json(r.at("knob"));
        if (!parsed) return;
        id = *parsed;
    } else if (auto w = st.writes.find(r.value("ref", uint64_t{0})); w != st.writes.end()) {
        id = w->second.id;
    } else {
        return;
    }
    auto k = st.knobs.find(id);
    if (k == st.knobs.end()) return;
    if (auto h = st.history_index.find(k->second.change_seq); h != st.history_index.end())
        st.history[h->second] = k->second;
}

// Applies one record to the state. `intents` maps the seq of each write intent to its knob.
Result<void> apply_record(JournalState& st, const json& r) {
    auto& intents = st.writes;
    if (!r.is_object() || r.value("v", 0) != 1) return fail("not a version 1 record");
    const std::string type = r.value("type", "");
    const uint64_t seq = r.value("seq", uint64_t{0});
    if (seq <= st.last_seq) return fail("sequence number " + std::to_string(seq) + " out of order");
    auto record_of = [&](const KnobId& id) -> Result<KnobRecord*> {
        auto it = st.knobs.find(id);
        if (it == st.knobs.end())
            return fail("record for " + to_string(id) + " before its original");
        return &it->second;
    };
    if (type == "original") {
        auto id = knob_id_from_json(r.at("knob"));
        if (!id) return std::unexpected(id.error());
        KnobRecord& k = st.knobs[*id];
        if (!k.original.empty() && !k.closed())
            return fail("second original for " + to_string(*id) + " while changed");
        k = KnobRecord{};
        k.id = *id;
        k.display = r.value("display", "");
        k.identity = r.value("identity", "");
        k.original = r.at("value").get<std::string>();
        k.left = k.original;
    } else if (type == "change" || type == "restore") {
        auto id = knob_id_from_json(r.at("knob"));
        if (!id) return std::unexpected(id.error());
        auto k = record_of(*id);
        if (!k) return std::unexpected(k.error());
        KnobRecord& rec = **k;
        const std::string to = r.at("to").get<std::string>();
        rec.open_write = seq;
        rec.written.insert(to);
        intents[seq] = WriteIntent{*id, to, type == "change"};
        if (type == "change") {
            rec.change_seq = seq;
            rec.tuner = r.value("tuner", "");
            rec.from = r.value("from", "");
            rec.to = to;
            rec.reason = r.value("reason", "");
            rec.expected = r.value("expected", "");
            rec.target = r.value("target", "");
            rec.guard = r.value("guard", "");
            rec.evidence = r.value("evidence", json::object());
            rec.outcome = Outcome::pending;
            rec.detail.clear();
            rec.verification = json::object();
            rec.changed_unix_ms = r.value("ts_ms", int64_t{0});
            st.history_index[seq] = st.history.size();
            st.history.push_back(rec);
        }
    } else if (type == "done") {
        const uint64_t ref = r.at("ref").get<uint64_t>();
        auto it = intents.find(ref);
        if (it == intents.end()) return fail("'done' for unknown write " + std::to_string(ref));
        auto k = record_of(it->second.id);
        if (!k) return std::unexpected(k.error());
        KnobRecord& rec = **k;
        if (rec.open_write == ref) rec.open_write = 0;
        if (r.value("ok", false)) {
            rec.left = r.value("value", it->second.to);
        } else if (it->second.is_change && rec.change_seq == ref) {
            rec.outcome = Outcome::failed;
            rec.detail = r.value("error", "");
        }
        if (!it->second.is_change && rec.left == rec.original && rec.outcome != Outcome::reverted)
            rec.outcome = Outcome::rolled_back;
    } else if (type == "outcome") {
        const uint64_t ref = r.at("ref").get<uint64_t>();
        auto it = intents.find(ref);
        if (it == intents.end() || !it->second.is_change)
            return fail("'outcome' for unknown change " + std::to_string(ref));
        auto k = record_of(it->second.id);
        if (!k) return std::unexpected(k.error());
        auto o = kOutcomeNames.parse(r.value("outcome", ""));
        if (!o) return std::unexpected(o.error());
        if ((*k)->change_seq == ref) {
            (*k)->outcome = *o;
            (*k)->detail = r.value("detail", "");
            (*k)->verification = r.value("numbers", json::object());
        } else if (auto h = st.history_index.find(ref); h != st.history_index.end()) {
            KnobRecord& old = st.history[h->second];
            old.outcome = *o;
            old.detail = r.value("detail", "");
            old.verification = r.value("numbers", json::object());
        }
    } else if (type == "override" || type == "gone") {
        auto id = knob_id_from_json(r.at("knob"));
        if (!id) return std::unexpected(id.error());
        auto k = record_of(*id);
        if (!k) return std::unexpected(k.error());
        (*k)->outcome = type == "override" ? Outcome::overridden : Outcome::gone;
        (*k)->detail = type == "override"
                           ? "changed by someone else to '" + r.value("found", "") + "'"
                           : r.value("detail", "");
        (*k)->open_write = 0;
    } else {
        return fail("unknown record type '" + type + "'");
    }
    sync_history(st, r);
    st.last_seq = seq;
    ++st.records;
    return {};
}

constexpr const char* kLockName = "tune.lock";

// The journal of the state dir `dirfd`; an empty state when there is none yet.
Result<JournalState> load_in(int dirfd, const std::string& dir) {
    const std::string path = dir + "/" + Journal::kFileName;
    int err = 0;
    auto fd = open_in_dir(dirfd, dir, Journal::kFileName, O_RDONLY | O_NONBLOCK, 0, &err);
    if (!fd) {
        if (err == ENOENT) return JournalState{};
        return fail("journal " + fd.error().message);
    }
    auto text = read_regular(fd->get(), path, kMaxJournalBytes);
    if (!text) return fail("journal " + path + " is unreadable: " + text.error().message);
    return replay_journal(*text, path);
}

// The holder line a lock file holds (short; anything longer is cut).
std::string holder_text(int fd, const std::string& path) {
    auto who = read_regular(fd, path, 4096);
    return who && !trim(*who).empty() ? std::string(trim(*who)) : "holder unknown";
}

}  // namespace

json knob_id_json(const KnobId& id) {
    return {{"kind", knob_kind_name(id.kind)},
            {"key", id.key},
            {"scope", scope_kind_name(id.scope.kind)},
            {"name", id.scope.name}};
}

Result<KnobId> knob_id_from_json(const json& j) {
    if (!j.is_object()) return fail("knob is not an object");
    auto kind = kKnobKindNames.parse(j.value("kind", ""));
    if (!kind) return std::unexpected(kind.error());
    auto scope = kScopeKindNames.parse(j.value("scope", ""));
    if (!scope) return std::unexpected(scope.error());
    return KnobId{*kind, j.value("key", ""), Scope{*scope, j.value("name", "")}};
}

Result<JournalState> replay_journal(const std::string& text, const std::string& path) {
    JournalState st;
    size_t pos = 0, line = 0;
    while (pos < text.size()) {
        ++line;
        size_t nl = text.find('\n', pos);
        const bool complete = nl != std::string::npos;
        const size_t end = complete ? nl : text.size();
        std::string_view body(text.data() + pos, end - pos);
        if (body.size() > kMaxJournalLineBytes)
            return fail("journal " + path + " line " + std::to_string(line) + " is longer than " +
                        std::to_string(kMaxJournalLineBytes) + " bytes: it is corrupt");
        auto parsed = parse_json_bounded(body);
        Result<void> ok = parsed ? Result<void>{} : std::unexpected(parsed.error());
        if (ok) {
            try {
                ok = apply_record(st, *parsed);
            } catch (const json::exception& e) {
                ok = fail(std::string("malformed record: ") + e.what());
            }
        }
        if (!ok) {
            // A crash while appending leaves the last line cut short: that write never
            // happened as far as anyone knows (its knob write comes only after the fsync).
            if (!complete) {
                st.torn_tail = true;
                break;
            }
            return fail("journal " + path + " line " + std::to_string(line) + ": " +
                        ok.error().message +
                        "; it is corrupt: nothing was changed (move it aside to start over, "
                        "after restoring what it lists by hand)");
        }
        pos = complete ? nl + 1 : text.size();
        st.good_bytes = pos;
    }
    return st;
}

Result<StateLock> StateLock::take(int dirfd, const std::string& dir, const std::string& command) {
    const std::string path = dir + "/" + kLockName;
    int err = 0;
    auto fd = open_in_dir(dirfd, dir, kLockName, O_RDWR | O_CREAT, 0600, &err);
    if (!fd && err == ELOOP) return fail("lock " + fd.error().message);
    if (!fd) return fail("state dir " + dir + " is not writable: " + fd.error().message);
    StateLock l;
    l.fd_ = std::move(*fd);
    if (::flock(l.fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) return fail_errno("lock " + path, errno);
        return fail("another perfbpf tune holds " + path + " (" + holder_text(l.fd_.get(), path) +
                    "): one writer at a time");
    }
    std::string text = "pid " + std::to_string(::getpid()) + " (" + command + ") since unix ms " +
                       std::to_string(now_unix_ms()) + "\n";
    if (::ftruncate(l.fd_.get(), 0) != 0 ||
        ::pwrite(l.fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
        return fail_errno("write " + path, errno);
    return l;
}

std::optional<std::string> StateLock::holder(const std::string& dir) {
    auto d = open_state_dir(dir, false);
    if (!d) return std::nullopt;
    auto fd = open_in_dir(d->get(), dir, kLockName, O_RDONLY | O_NONBLOCK);
    if (!fd) return std::nullopt;
    if (::flock(fd->get(), LOCK_SH | LOCK_NB) == 0) return std::nullopt;
    return holder_text(fd->get(), dir + "/" + kLockName);
}

Result<JournalState> Journal::load(const std::string& dir) {
    int err = 0;
    auto d = open_state_dir(dir, false, &err);
    if (!d) {
        if (err == ENOENT) return JournalState{};
        return std::unexpected(d.error());
    }
    return load_in(d->get(), dir);
}

Result<Journal> Journal::open(const std::string& dir, const std::string& command) {
    auto d = open_state_dir(dir, true);
    if (!d) return std::unexpected(d.error());
    auto lock = StateLock::take(d->get(), dir, command);
    if (!lock) return std::unexpected(lock.error());
    Journal j;
    j.dir_ = dir;
    j.path_ = dir + "/" + kFileName;
    j.lock_ = std::move(*lock);
    auto st = load_in(d->get(), dir);
    if (!st) return std::unexpected(st.error());
    j.state_ = std::move(*st);
    int err = 0;
    auto fd = open_in_dir(d->get(), dir, kFileName, O_RDWR | O_APPEND, 0600, &err);
    const bool created = !fd && err == ENOENT;
    if (created)
        fd = open_in_dir(d->get(), dir, kFileName, O_RDWR | O_APPEND | O_CREAT | O_EXCL, 0600);
    if (!fd) return fail("journal " + fd.error().message);
    j.fd_ = std::move(*fd);
    if (j.state_.torn_tail) {
        // Cut the torn line off, or the next record would be glued to it.
        if (::ftruncate(j.fd_.get(), static_cast<off_t>(j.state_.good_bytes)) != 0 ||
            ::fsync(j.fd_.get()) != 0)
            return fail_errno("journal " + j.path_ + ": cutting off a torn last line", errno);
        j.state_.torn_tail = false;
    }
    if (created) {
        if (::fsync(j.fd_.get()) != 0) return fail_errno("fsync " + j.path_, errno);
        if (::fsync(d->get()) != 0) return fail_errno("fsync " + dir, errno);
    }
    return j;
}

Result<uint64_t> Journal::append(json record) {
    const uint64_t seq = state_.last_seq + 1;
    record["v"] = 1;
    record["seq"] = seq;
    record["ts_ms"] = now_unix_ms();
    record["pid"] = ::getpid();
    // Applied to a copy first: a record the replay would refuse never reaches the disk.
    JournalState next = state_;
    try {
        if (auto ok = apply_record(next, record); !ok)
            return fail("journal " + path_ + ": refusing record: " + ok.error().message);
    } catch (const json::exception& e) {
        return fail("journal " + path_ + ": refusing record: " + e.what());
    }
    std::string line = record.dump() + "\n";
    // One write per record: a crash leaves at most this line torn.
    ssize_t n = ::write(fd_.get(), line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) {
        int err = n < 0 ? errno : EIO;
        // Take a partial line back so the journal stays valid; replay ignores it otherwise.
        if (n > 0) (void)::ftruncate(fd_.get(), static_cast<off_t>(state_.good_bytes));
        return fail_errno("append to journal " + path_, err);
    }
    if (::fdatasync(fd_.get()) != 0) return fail_errno("fsync journal " + path_, errno);
    next.good_bytes += line.size();
    state_ = std::move(next);
    return seq;
}

Result<uint64_t> Journal::original(const KnobId& id, const std::string& display,
                                   const std::string& identity, const std::string& value) {
    return append({{"type", "original"},
                   {"knob", knob_id_json(id)},
                   {"display", display},
                   {"identity", identity},
                   {"value", value}});
}

Result<uint64_t> Journal::change(const Change& c) {
    return append({{"type", "change"},
                   {"knob", knob_id_json(c.id)},
                   {"tuner", c.tuner},
                   {"from", c.from},
                   {"to", c.to},
                   {"reason", c.reason},
                   {"expected", c.expected},
                   {"evidence", c.evidence},
                   {"target", c.target},
                   {"guard", c.guard}});
}

Result<uint64_t> Journal::restore(const KnobId& id, const std::string& to, const std::string& why) {
    return append({{"type", "restore"}, {"knob", knob_id_json(id)}, {"to", to}, {"why", why}});
}

Result<uint64_t> Journal::done(uint64_t ref, const Result<std::string>& written) {
    json r = {{"type", "done"}, {"ref", ref}, {"ok", written.has_value()}};
    if (written)
        r["value"] = *written;
    else
        r["error"] = written.error().message;
    return append(std::move(r));
}

Result<uint64_t> Journal::outcome(uint64_t ref, Outcome o, const std::string& detail,
                                  const json& numbers) {
    return append({{"type", "outcome"},
                   {"ref", ref},
                   {"outcome", outcome_name(o)},
                   {"detail", detail},
                   {"numbers", numbers}});
}

Result<uint64_t> Journal::overridden(const KnobId& id, const std::string& found) {
    return append({{"type", "override"}, {"knob", knob_id_json(id)}, {"found", found}});
}

Result<uint64_t> Journal::gone(const KnobId& id, const std::string& detail) {
    return append({{"type", "gone"}, {"knob", knob_id_json(id)}, {"detail", detail}});
}

}  // namespace perfbpf::tune
