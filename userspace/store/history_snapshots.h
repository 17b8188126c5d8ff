// The daemon's past as a sequence of Snapshots, oldest first, for `top --history`: the
// intervals are the points of the host's always-present series, and a snapshot is rebuilt
// from every series at its time (model/series_restore). Snapshots are read a window at a
// time and kept in a small cache, so stepping and paging stay quick.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "model/daemon_status.h"
#include "model/snapshot.h"
#include "store/history.h"
#include "util/result.h"

namespace perfbpf {

class HistorySnapshots {
  public:
    // The intervals of `history` in [from_ms, to_ms]; an error when there are none.
    static Result<HistorySnapshots> open(History history, int64_t from_ms, int64_t to_ms);

    size_t size() const { return times_ms_.size(); }
    int64_t time_ms(size_t i) const { return times_ms_[i]; }
    // The index of the last interval at or before `ms` (the first when none is).
    size_t index_at(int64_t ms) const;
    // The snapshot of interval i (throws std::runtime_error when history cannot be read:
    // the screen restores the terminal first).
    Snapshot at(size_t i);
    // The alerts the daemon had firing at interval i (its alert_state series; the summary
    // names the object by its labels).
    std::vector<DaemonStatus::FiringAlert> alerts_at(size_t i);

  private:
    HistorySnapshots(History h, std::vector<int64_t> times)
        : history_(std::make_unique<History>(std::move(h))), times_ms_(std::move(times)) {}
    Result<void> load_window(size_t i);

    std::unique_ptr<History> history_;
    std::vector<int64_t> times_ms_;
    std::map<size_t, Snapshot> cache_;
    std::map<size_t, std::vector<DaemonStatus::FiringAlert>> alerts_;  // with cache_
};

// `top --record DIR`: every interval's snapshot appended to DIR/history.db in the
// daemon's format (every process kept, none summed), a few hundred times smaller than JSON
// lines; `top --replay DIR` reads it back with HistorySnapshots.
class HistoryRecorder {
  public:
    static Result<HistoryRecorder> open(const std::string& dir);
    HistoryRecorder(HistoryRecorder&&) = default;
    HistoryRecorder& operator=(HistoryRecorder&&) = default;
    ~HistoryRecorder();
    Result<void> append(const Snapshot& s);
    // Compacts what is in the head (at the end of a recording).
    Result<void> flush();

  private:
    explicit HistoryRecorder(History h) : history_(std::make_unique<History>(std::move(h))) {}
    std::unique_ptr<History> history_;
};

// True when `path` is a recording in the history format: a directory holding history.db
// (or that file itself); false for JSON lines.
bool is_history_recording(const std::string& path);
// The directory of a history recording named by is_history_recording's `path`.
std::string history_recording_dir(const std::string& path);

}  // namespace perfbpf
