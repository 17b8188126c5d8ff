// The first part of a `trace --leaks` session: what it traces. The options are checked
// (those that need no privileges first, so their message is the one shown), and a
// command is started paused, to be let go once the probes are attached.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "leaks/session.h"
#include "leaks/target.h"
#include "util/result.h"

namespace perfbpf {

// A file in /tmp that the launched command's library (or the injected one) writes its
// mappings to at exit, removed with the session. Named /tmp/perfbpf-maps.PID.XXXXXX (PID:
// the tracer's), so that a session killed with -9 leaves one its successors can tell is
// stale: making one first removes those of ours whose tracer is gone.
struct TempFile {
    std::string path;
    TempFile();
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
};

// The tracer pid in the name of a maps file ("perfbpf-maps.PID.XXXXXX"); -1 for a name of
// the older form without it ("perfbpf-maps.XXXXXX"); 0 for a name that is not a maps file.
int maps_file_tracer(std::string_view name);

struct TraceTarget {
    bool command = false;      // -- CMD: a command perfbpf starts
    bool kernel = false;       // --kernel
    bool system_wide = false;  // --kernel without a process
    bool growth = false;       // --mode growth (user space)
    bool pid_exact = false;    // --mode exact -p PID: injection or uprobes in the allocator
    int pid = 0;               // the traced process (the command's, once started)
    std::string exe;           // the command's executable
    std::string shim;          // the interposition library the command preloads
    std::string lib;           // -p exact: the allocator library (libc or --allocator-lib)
    std::string comm;          // set once the target runs
    std::optional<TempFile> maps_file;
    std::optional<SpawnedTarget> child;
    std::string not_held;  // why a launched command is not held at its exit

    TraceTarget() = default;
    TraceTarget(const TraceTarget&) = delete;
    TraceTarget& operator=(const TraceTarget&) = delete;
    // The process has exited (never, system-wide); sticky once true.
    bool gone();
    // "pid N comm" or "every process", for the log lines.
    std::string description() const;

  private:
    bool exited_ = false;
};

// Checks the options and finds what is traced; starts nothing. Errors are one line.
Result<void> check_target(const LeaksTraceOptions& opts, TraceTarget& t);

// A command is started, paused before exec (its maps file made first, for its library).
Result<void> start_target(const LeaksTraceOptions& opts, TraceTarget& t);

// The probes are attached: a launched command may exec now. Sets t.comm.
Result<void> let_target_run(const LeaksTraceOptions& opts, TraceTarget& t);

}  // namespace perfbpf
