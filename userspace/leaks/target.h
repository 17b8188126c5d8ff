// The process a leak trace watches: a command perfbpf starts (held before exec until the
// probes are attached, with the interposition library preloaded) or a running PID.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace perfbpf {

// The executable `cmd` names (searched in PATH when it has no '/'); an error says
// "not found" or "not executable".
Result<std::string> resolve_command(const std::string& cmd);

// Why the interposition library (LD_PRELOAD) cannot load into `path` when perfbpf execs it,
// or "" when it can (or the file is not ELF, e.g. a script: its interpreter decides). A
// static executable has no dynamic loader to preload anything; one that is setuid or
// setgid to another user runs in secure-execution mode, where the loader ignores a preload
// given by path.
std::string preload_blocker(const std::string& path);

// A child started by perfbpf. Killed (SIGKILL, by pid) and reaped if still running when
// destroyed, so a failed start never leaves it behind.
class SpawnedTarget {
  public:
    // Forks a child that waits before exec; `env` is added to its environment (a value
    // "$PID" becomes the child's pid).
    static Result<SpawnedTarget> spawn_paused(
        const std::string& path, const std::vector<std::string>& argv,
        const std::vector<std::pair<std::string, std::string>>& env);
    SpawnedTarget() = default;
    SpawnedTarget(SpawnedTarget&& o) noexcept;
    SpawnedTarget& operator=(SpawnedTarget&& o) noexcept;
    SpawnedTarget(const SpawnedTarget&) = delete;
    SpawnedTarget& operator=(const SpawnedTarget&) = delete;
    ~SpawnedTarget();

    pid_t pid() const { return pid_; }
    // Lets the child exec; an error when exec failed (the child has then exited).
    Result<void> release();
    // True once the child has exited (reaped); status in exit_code().
    bool exited();
    int exit_code() const { return exit_code_; }
    // SIGTERM, then SIGKILL after grace_ms; reaps.
    void terminate(int grace_ms = 1000);

    // Traces the child (PTRACE_SEIZE with PTRACE_O_TRACEEXIT; call before release()) so
    // that its exit stops before its address space is torn down: exited() is then true at
    // that stop, with the memory still there to scan, until release_hold(). Signals sent to
    // the child stop it until exited() is next called, which passes them on. Only the
    // process's first thread is traced: when another thread ends the process, that thread's
    // exit is not held (the first thread, killed, does not stop) and nothing is held.
    Result<void> hold_at_exit();
    bool traced() const { return traced_; }
    bool held_at_exit() const { return at_exit_; }
    // Stops the traced child now (PTRACE_INTERRUPT), for a scan; nothing to do at its exit.
    Result<void> stop_traced();
    // Ends the tracing (a signal caught while stopping it is delivered); a child held at
    // its exit then finishes exiting and is reaped.
    void release_hold();

  private:
    void kill_and_reap();
    void reaped(int status);
    bool on_trace_stop(int status);  // true: held at the process's exit
    pid_t pid_ = -1;
    bool reaped_ = false;
    int exit_code_ = 0;
    bool traced_ = false;
    bool at_exit_ = false;
    int pending_signal_ = 0;
    UniqueFd go_;      // write end: one byte releases the child
    UniqueFd status_;  // read end, CLOEXEC in the child: EOF = exec succeeded
};

// Why `pid` cannot be traced ("" when it can): it must exist and not be a zombie.
std::string check_pid(int pid, const std::string& proc_root = "/proc");

// The path of the C library `pid` maps (from /proc/PID/maps), or an error.
Result<std::string> find_mapped_libc(int pid, const std::string& proc_root = "/proc");

// The command name of a process ("" when gone).
std::string process_comm(int pid, const std::string& proc_root = "/proc");

}  // namespace perfbpf
