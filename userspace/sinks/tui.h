// The full-screen `top`: paints the TopFrame of sinks/top_view with ncurses and feeds it
// keys. Snapshots come from a callback that runs on a thread of its own, so the screen
// keeps answering keys while an interval is being collected. The terminal is restored on
// every way out: q, the stop flag (SIGINT/SIGTERM), an exception from the callback (rethrown
// after the restore) and, as far as signal-safe code can, a fatal signal.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "detect/verdict.h"
#include "model/snapshot.h"
#include "sinks/top_view.h"
#include "util/result.h"

namespace perfbpf {

struct TopUpdate {
    Snapshot snapshot;
    std::vector<Verdict> verdicts;
    FiringAlerts alerts;  // the daemon's, at the snapshot's time (none without a daemon)
};

// Blocks until the next interval ends and returns it; returns nullopt when `stop` became
// true meanwhile or there is nothing more to show.
using TopSource = std::function<std::optional<TopUpdate>(const std::atomic<bool>& stop)>;

// Snapshots that are all there already (a recording, the daemon's history), read by index,
// oldest first, so the view can move back and forth through them. Called on the screen's
// thread; an exception from them ends the view and is rethrown after the terminal is
// restored. sinks/seekable_source.h makes one from snapshots by index.
struct SeekableSource {
    std::function<size_t()> size;
    std::function<TopUpdate(size_t i)> at;  // snapshot i with its verdicts
    // Snapshot i's end_unix_ms: PgUp/PgDn look up a few of these to move by a minute.
    std::function<int64_t(size_t i)> time_ms;
    std::string marker;  // "REPLAY" or "HISTORY": on every frame, so the past is never
                         // mistaken for now
};

struct TuiOptions {
    const std::atomic<bool>* stop = nullptr;  // set from a signal handler: leave cleanly
    int iterations = 0;                       // leave after this many updates (0: never)
    int input_fd = 0;                         // the terminal: keys from here,
    int output_fd = 1;                        // the screen to here
    // Carries out what a key asked (signal, renice, read a command line) and returns the
    // line to show, or for TopAction::Kind::describe the command line. Unset (a replay,
    // the history: their pids may be reused by now) the view refuses k and r.
    std::function<std::string(const TopAction&)> act;
    // `H`: the threads of a live process (collect/thread_reader.h), read when H is pressed
    // and at each update while they are shown. Unset (a replay, the history) H says so.
    std::function<Result<std::vector<ThreadSample>>(int pid)> threads;
};

// True when both fds are terminals, so a full-screen view can take keys and draw.
bool tui_possible(int input_fd = 0, int output_fd = 1);

// Runs until q, `stop` or `iterations`; when the source ends, its last update stays on
// screen until q. Fails, leaving the screen as it was, when the
// terminal cannot be set up (unknown $TERM); the caller then falls back to plain text.
Result<void> run_tui(const TopSource& source, const TuiOptions& opts);

// The same view over a SeekableSource: it starts playing from the first snapshot at the
// recorded pace (each snapshot's interval_ns), and Left/Right, PgUp/PgDn, Home/End and
// Space move through time (sinks/timeline.h); Up/Down move the selection. Playing stops
// at the last snapshot, which stays until q. `iterations` counts the snapshots shown.
Result<void> run_tui_seekable(const SeekableSource& source, const TuiOptions& opts);

}  // namespace perfbpf
