// Which snapshots a verdict looks at: the one it is about and up to four before it, so
// one noisy interval does not flip a verdict. Shared by the live view (snapshots arrive
// one by one) and by views that jump around a recording or the history (by index).
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "detect/thresholds.h"
#include "detect/verdict.h"
#include "model/snapshot.h"

namespace perfbpf {

inline constexpr size_t kVerdictWindow = 5;

// The first index of the window that ends at snapshot `i` (the window is [first, i]).
constexpr size_t verdict_window_first(size_t i) {
    return i + 1 > kVerdictWindow ? i + 1 - kVerdictWindow : 0;
}

// Verdicts for snapshot `i` of a sequence read by index, over the window ending at it.
std::vector<Verdict> assess_at(size_t i, const std::function<Snapshot(size_t)>& snapshot_at,
                               const Thresholds& t);

// Snapshots in the order they were taken; each gets verdicts over the window ending at it.
class VerdictWindow {
  public:
    explicit VerdictWindow(const Thresholds& t) : thresholds_(t) {}

    std::vector<Verdict> push(const Snapshot& s);

  private:
    Thresholds thresholds_;
    std::vector<Snapshot> window_;  // the last kVerdictWindow, oldest first
};

}  // namespace perfbpf
