#include "sinks/seekable_source.h"

#include "detect/verdict_window.h"

namespace perfbpf {

SeekableSource seekable_snapshots(std::function<size_t()> size,
                                  std::function<Snapshot(size_t)> snapshot_at, const Thresholds& t,
                                  std::string marker,
                                  std::function<FiringAlerts(size_t)> alerts_at) {
    SeekableSource s;
    s.size = std::move(size);
    s.at = [snapshot_at, t, alerts_at](size_t i) {
        return TopUpdate{snapshot_at(i), assess_at(i, snapshot_at, t),
                         alerts_at ? alerts_at(i) : FiringAlerts{}};
    };
    s.time_ms = [snapshot_at](size_t i) { return snapshot_at(i).end_unix_ms; };
    s.marker = std::move(marker);
    return s;
}

}  // namespace perfbpf
