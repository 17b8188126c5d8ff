// The objects named on the tune command line (--device, --cgroup, --netns, --pid) are
// checked before anything runs: a filter naming nothing that exists would select no knob,
// and --auto would watch (and create a state dir) for nothing.
#pragma once

#include <set>

#include "tune/knobs.h"
#include "tune/scope.h"
#include "util/result.h"

namespace perfbpf::tune {

// The filter with every cgroup as a path inside its hierarchy ("/sys/fs/cgroup/x" and, on
// cgroup v1, "/sys/fs/cgroup/cpu/x" become "/x"), or an error naming the first object that
// does not exist or is not a valid name. Objects in `recorded` (the journal's, for
// --rollback and --status) are accepted when gone: their knobs still have to be accounted for.
Result<ScopeFilter> check_filter(const ScopeFilter& filter, const KnobRoots& roots,
                                 const std::set<Scope>& recorded = {});

}  // namespace perfbpf::tune
