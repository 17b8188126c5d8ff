// The last part of a `trace --leaks` session: the report as of the end, with what the
// reader should know (overhead, limits, sampling), exact mode's reachability scan of the
// held target, and the target's fate; the probes are released in the background and the
// stacks symbolized (also for a target that has exited).
#pragma once

#include "leaks/session.h"
#include "leaks/session_loop.h"
#include "leaks/session_mode.h"
#include "leaks/session_target.h"
#include "model/leaks.h"
#include "util/result.h"

namespace perfbpf {

// Releases the probes and readers; an error when nothing was traced at all.
Result<LeakReport> final_report(const LeaksTraceOptions& opts, TraceTarget& t, TraceProbes& p,
                                TraceSampling& s);

}  // namespace perfbpf
