// A Source adds what it knows about one interval to the Snapshot being built: a probe
// family's reader (maps -> deltas) or a procfs/sysfs reader. Sources keep their own
// previous cumulative values; the builder only ever receives within-interval amounts.
#pragma once

#include <string_view>

#include "model/snapshot_builder.h"

namespace perfbpf {

class Source {
  public:
    virtual ~Source() = default;
    virtual std::string_view name() const = 0;
    virtual void collect(SnapshotBuilder& builder) = 0;
};

}  // namespace perfbpf
