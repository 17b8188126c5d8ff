// Whether what `top --pid/--cgroup` names exists, checked before collecting: a typo then
// fails in one line instead of showing an empty view until stopped.
#pragma once

#include <string>

#include "model/finalize.h"
#include "util/result.h"

namespace perfbpf {

// The pid must have a directory under `proc_root`; the cgroup path must be a directory
// under the cgroup2 mount or a v1 hierarchy's mount named in `proc_root`/self/mounts.
Result<void> check_filter_targets(const SnapshotFilter& f, const std::string& proc_root = "/proc");

}  // namespace perfbpf
