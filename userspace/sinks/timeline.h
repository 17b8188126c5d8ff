// Moving through the snapshots of a replay or of the daemon's history: where each time key
// leads, playback at the recorded pace, and the line that says where in time the view is.
// Pure, so every move is unit-tested without a terminal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace perfbpf {

// PgUp/PgDn move by time, not by count: intervals differ between recordings, and the
// history has gaps where the daemon was not running.
inline constexpr int64_t kSeekPageMs = 60'000;

// Left/Right, PgUp/PgDn, Home/End, Space and p: the keys that move through time.
bool is_time_key(int key);

// The index `key` leads to from `from` among `count` snapshots whose end times (Unix ms,
// oldest first) `time_ms` gives. Left/Right: one snapshot. PgUp: the last snapshot at
// least a minute before `from`'s end (the first when there is none); PgDn: the first at
// least a minute after (the last when there is none). Home/End: the first/last. Always
// within [0, count) (0 when empty); any other key stays. Looks up O(log count) times.
size_t seek(size_t count, const std::function<int64_t(size_t)>& time_ms, size_t from, int key);
size_t seek(const std::vector<int64_t>& times_ms, size_t from, int key);

struct Playback {
    size_t index = 0;
    bool playing = true;
};

// Space and p pause or resume (at the last snapshot: play again from the first). The
// moves pause, so what the user went to look at stays on screen.
Playback press_time_key(Playback p, size_t count, const std::function<int64_t(size_t)>& time_ms,
                        int key);

// "REPLAY 2026-12-05 03:12:07 (12/300)  playing": the end of snapshot `index` in local
// time, counted from 1.
std::string timeline_line(const std::string& marker, int64_t end_unix_ms, size_t index,
                          size_t count, bool playing);

}  // namespace perfbpf
