#include "detect/verdict_window.h"

namespace perfbpf {

std::vector<Verdict> assess_at(size_t i, const std::function<Snapshot(size_t)>& snapshot_at,
                               const Thresholds& t) {
    std::vector<Snapshot> window;
    for (size_t j = verdict_window_first(i); j <= i; ++j) window.push_back(snapshot_at(j));
    return assess(window, t);
}

std::vector<Verdict> VerdictWindow::push(const Snapshot& s) {
    // Contiguous, so assess reads the window in place: a deque copied into a vector for it
    // was five snapshot copies an interval (4.3 % of the daemon's own CPU at 0.1 s with the
    // verdicts). Erasing the oldest moves four snapshots, which copies no process.
    if (window_.size() == kVerdictWindow) window_.erase(window_.begin());
    window_.push_back(s);
    return assess(window_, thresholds_);
}

}  // namespace perfbpf
