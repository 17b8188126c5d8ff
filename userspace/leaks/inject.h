// Exact mode for a running process (`trace --leaks --mode exact -p PID`) through the
// interposition library: perfbpf makes one thread of the target call dlopen() on
// libperfbpf_shim.so and then the shim's attach function, which patches the allocator
// entries of every module; at the end it makes a thread call the detach function. Each
// session: PTRACE_SEIZE one thread, PTRACE_INTERRUPT it at a moment it is not inside libc's
// allocator or the dynamic loader, save every register (FPU/vector state included), its
// signal mask and errno; write a signal frame of that state below its stack pointer and
// map a page of return code (through libc's mmap); run the calls on its stack, each
// returning into that code, which restores errno and the state with rt_sigreturn; then
// unmap the page, restore exactly, detach. perfbpf follows the calls at their system-call
// stops and takes each result at the rt_sigreturn's, so if perfbpf dies at any moment the
// thread restores itself and goes on (docs/leaks.md). The other threads keep running
// throughout. x86-64 specifics: leaks/inject_x86_64.h.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "leaks/inject_spot.h"
#include "perfbpf/leaks.h"
#include "util/result.h"

namespace perfbpf {

enum class InjectPhase {
    Stopped,   // a thread is stopped at a safe point, nothing changed yet
    Armed,     // its frame is written and the return page mapped: calls may begin
    Loaded,    // dlopen returned
    Returned,  // the session's calls are done; the thread is about to be given back
};

struct InjectOptions {
    std::string library;    // libperfbpf_shim.so as the target sees it
    std::string maps_file;  // where the shim leaves its maps at exit ("" none), target's view
    uint32_t max_stacks = 8192;
    uint32_t heartbeat_timeout_ms = 2000;
    uint64_t safe_point_timeout_ns = 3'000'000'000;  // to find a thread at a safe point
    uint64_t call_timeout_ns = 5'000'000'000;        // per injected call
    std::function<void(InjectPhase)> on_phase;       // tests use it to disturb the target
};

// The shim inside a target, after a successful attach.
struct InjectedShim {
    int pid = 0;
    int tid = 0;  // the thread that made the calls
    uint64_t control_addr = 0;
    uint64_t detach_fn = 0;
    uint64_t rescan_fn = 0;
    leaks_shim_control control{};  // as read after attach
    uint64_t took_ns = 0;          // from the first stop to the detach
};

// Why perfbpf cannot inject into `pid` ("" when it can try): traced by someone else,
// stopped, ptrace disabled.
std::string injection_blocker(int pid);

// Loads `opts.library` into `pid` and attaches. `libc` is the C library the target maps,
// by a path perfbpf can open (/proc/PID/root/...). An error is one line; on any error the
// thread's registers are restored and it is detached (a process that exited is gone).
Result<InjectedShim> inject_shim(int pid, const std::string& libc, const InjectOptions& opts);

// Makes the target call the shim's detach function; returns the control block after it.
Result<leaks_shim_control> detach_shim(const InjectedShim& shim, const InjectOptions& opts);
// Makes the target call the shim's rescan function (patch modules loaded since); returns
// the control block after it.
Result<leaks_shim_control> rescan_shim(const InjectedShim& shim, const InjectOptions& opts);

// The shim's control block now, and a new heartbeat value (any change will do).
Result<leaks_shim_control> read_shim_control(const InjectedShim& shim);
Result<void> write_shim_heartbeat(const InjectedShim& shim, uint64_t beat);

}  // namespace perfbpf
