// A SeekableSource over snapshots read by index: `top --replay` (a recording in memory)
// and `top --history` (the daemon's store) show their snapshots through this.
#pragma once

#include <functional>
#include <string>

#include "detect/thresholds.h"
#include "model/snapshot.h"
#include "sinks/tui.h"

namespace perfbpf {

// `snapshot_at(i)` for i < size(), oldest first. Verdicts for snapshot i come from the
// window of snapshots ending at it (detect/verdict_window.h), as the live view's would
// have; time_ms reads snapshot_at(i).end_unix_ms (replace it when that is cheaper to get).
SeekableSource seekable_snapshots(std::function<size_t()> size,
                                  std::function<Snapshot(size_t)> snapshot_at, const Thresholds& t,
                                  std::string marker,
                                  std::function<FiringAlerts(size_t)> alerts_at = {});

}  // namespace perfbpf
