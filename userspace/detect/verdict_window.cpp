#include "detect/verdict_window.h"

namespace perfbpf {

std::vector<Verdict> assess_at(size_t i, const std::function<Snapshot(size_t)>& snapshot_at,
                               const Thresholds& t) {
    std::vector<Snapshot> window;
    for (size_t j = verdict_window_first(i); j <= i; ++j) window.push_back(snapshot_at(j));
    return assess(window, t);
}

std::vector<Verdict> VerdictWindow::push(const Snapshot& s) {
    window_.push_back(s);
    if (window_.size() > kVerdictWindow) window_.pop_front();
    std::vector<Snapshot> w(window_.begin(), window_.end());
    return assess(w, thresholds_);
}

}  // namespace perfbpf
