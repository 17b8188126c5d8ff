// A Source adds what it knows about one interval to the Snapshot being built: a probe
// family's reader (maps -> deltas) or a procfs/sysfs reader. Sources keep their own
// previous cumulative values; the builder only ever receives within-interval amounts.
#pragma once

#include <cstdint>
#include <string_view>

#include "model/snapshot_builder.h"

namespace perfbpf {

// How far apart work that needs no finer resolution than a second is done, whatever the
// interval (listing /proc, the disks with media, the TCP sweep): 0.9 s, so at a 1 s interval
// an interval's jitter never skips one and every interval does it.
inline constexpr uint64_t kOncePerSecondNs = 900'000'000ULL;

// Whether `now_ns` is at least kOncePerSecondNs past `last_ns` (0: never done); sets
// `last_ns` to `now_ns` when it is.
inline bool once_per_second(uint64_t& last_ns, uint64_t now_ns) {
    if (last_ns && now_ns - last_ns < kOncePerSecondNs) return false;
    last_ns = now_ns;
    return true;
}

class Source {
  public:
    virtual ~Source() = default;
    virtual std::string_view name() const = 0;
    virtual void collect(SnapshotBuilder& builder) = 0;
};

}  // namespace perfbpf
