// The tune journal: append-only JSON lines in the state dir, fsync'd before every knob write,
// so `tune --rollback` can restore every knob this tool changed even after kill -9 or a
// power cut. Replaying it gives the state of each knob (JournalState). One writer at a time
// holds the state dir's lock file, which names it; readers (status) need no lock.
//
// Records (each line one object with "v":1, "type", "seq", "ts_ms", "pid"):
//   original  {knob, display, identity, value}  before the first change of a knob (again
//             only once a knob is back at its original, for a later episode)
//   change    {knob, tuner, from, to, reason, expected, evidence, target, guard}  intent,
//             written before the knob is
//   restore   {knob, to, why}  intent to put back an earlier value ("revert": a change that
//             did not verify; "rollback"; "exit": --revert-on-exit; "stop": unverified at exit)
//   done      {ref, ok, value | error}  what the write of record `ref` did
//   outcome   {ref, outcome, detail, before, after}  verdict on change `ref`: kept, reverted
//   override  {knob, found, expected}  someone else changed a knob of ours: hands off
//   gone      {knob, detail}  its object vanished or was replaced (rollback skips it)
// A last line without its newline is a torn write from a crash: ignored (and cut off before
// the next append). Every record is written with its newline in one write(2), so any other
// bad line, the last complete one included, is corruption: a clear error, and nothing is done.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tune/knob.h"
#include "util/enum_table.h"
#include "util/fd.h"
#include "util/result.h"

namespace perfbpf::tune {

enum class Outcome { pending, kept, reverted, overridden, failed, rolled_back, gone };
inline constexpr auto kOutcomeNames =
    enum_table<Outcome>("outcome", {{Outcome::pending, "pending"},
                                    {Outcome::kept, "kept"},
                                    {Outcome::reverted, "reverted"},
                                    {Outcome::overridden, "overridden"},
                                    {Outcome::failed, "failed"},
                                    {Outcome::rolled_back, "rolled-back"},
                                    {Outcome::gone, "gone"}});
inline const char* outcome_name(Outcome o) {
    return kOutcomeNames.name(o);
}

// What the journal says about one knob.
struct KnobRecord {
    KnobId id;
    std::string display;
    std::string identity;  // of its object when the original was recorded
    std::string original;
    std::string left;  // the value we last wrote successfully (what it should hold now)
    std::set<std::string> written;  // every value this tool wrote or may have written
    // The latest change.
    uint64_t change_seq = 0;
    std::string tuner, from, to, reason, expected, target, guard;
    nlohmann::json evidence = nlohmann::json::object();
    Outcome outcome = Outcome::pending;
    std::string detail;                                      // why that outcome
    nlohmann::json verification = nlohmann::json::object();  // before/after numbers
    int64_t changed_unix_ms = 0;
    uint64_t open_write = 0;  // seq of a write intent without its "done" (crash mid-write)

    // Nothing of ours is left on the knob: it holds its original, or someone else owns it.
    bool closed() const {
        return outcome == Outcome::overridden || outcome == Outcome::gone ||
               (open_write == 0 && left == original);
    }
};

// A write the journal announced (change or restore), by its seq.
struct WriteIntent {
    KnobId id;
    std::string to;
    bool is_change = false;
};

struct JournalState {
    std::map<KnobId, KnobRecord> knobs;
    std::map<uint64_t, WriteIntent> writes;
    uint64_t last_seq = 0;
    size_t records = 0;
    // Every change, oldest first, with what became of it (a knob's record above holds only
    // its latest): for reports over a time range.
    std::vector<KnobRecord> history;
    std::map<uint64_t, size_t> history_index;  // a change's seq -> its entry in history
    bool torn_tail = false;                    // the last line was a torn write (ignored)
    uint64_t good_bytes = 0;                   // length of the valid prefix
};

// Records are a few KB; the bounds only stop a journal that is not one.
inline constexpr size_t kMaxJournalLineBytes = size_t{1} << 20;
inline constexpr size_t kMaxJournalBytes = size_t{256} << 20;

// Replays journal text. Fails on corruption, naming the line.
Result<JournalState> replay_journal(const std::string& text, const std::string& path);

// The lock file of a state dir, held for the life of this object.
class StateLock {
  public:
    // Takes tune.lock in the state dir `dirfd` (named `dir` in messages), never through a
    // symlink, or fails naming its holder ("pid 812 (perfbpf tune --auto) since ...").
    static Result<StateLock> take(int dirfd, const std::string& dir, const std::string& command);
    // Who holds the lock of state dir `dir` now, or nullopt when nobody does.
    static std::optional<std::string> holder(const std::string& dir);

  private:
    UniqueFd fd_;
};

class Journal {
  public:
    static constexpr const char* kFileName = "tune.journal";

    // For a writer: creates DIR when its parent exists, takes the lock, replays the journal
    // and cuts off a torn last line. Fails on a missing parent, a read-only or unwritable
    // dir, one open_state_dir refuses (a symlink, or others could write it), a symlink for
    // the lock or journal, a held lock or a corrupt journal: nothing is written then.
    static Result<Journal> open(const std::string& dir, const std::string& command);
    // For a reader: the replayed state; an empty state when there is no state dir or no
    // journal yet. The state dir is checked as for a writer.
    static Result<JournalState> load(const std::string& dir);

    const JournalState& state() const { return state_; }
    const std::string& path() const { return path_; }

    // Each appends one record, fsync'd, and applies it to state(). Returns its seq.
    Result<uint64_t> original(const KnobId& id, const std::string& display,
                              const std::string& identity, const std::string& value);
    struct Change {
        KnobId id;
        std::string tuner, from, to, reason, expected, target, guard;
        nlohmann::json evidence = nlohmann::json::object();
    };
    Result<uint64_t> change(const Change& c);
    Result<uint64_t> restore(const KnobId& id, const std::string& to, const std::string& why);
    Result<uint64_t> done(uint64_t ref, const Result<std::string>& written);
    Result<uint64_t> outcome(uint64_t ref, Outcome o, const std::string& detail,
                             const nlohmann::json& numbers = nlohmann::json::object());
    Result<uint64_t> overridden(const KnobId& id, const std::string& found);
    Result<uint64_t> gone(const KnobId& id, const std::string& detail);

  private:
    Result<uint64_t> append(nlohmann::json record);

    std::string dir_, path_;
    StateLock lock_;
    UniqueFd fd_;
    JournalState state_;
};

nlohmann::json knob_id_json(const KnobId& id);
Result<KnobId> knob_id_from_json(const nlohmann::json& j);

}  // namespace perfbpf::tune
