// The end of an exact leak trace: every thread of the target held stopped (ptrace) while
// its memory is scanned for pointers to the outstanding blocks, and the scan itself.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "detect/leak_reachability.h"
#include "util/result.h"

namespace perfbpf {

struct FrozenThread {
    pid_t tid = 0;
    user_regs_struct regs{};
    bool have_regs = false;
    bool seized = false;     // by this object (detached by it)
    int pending_signal = 0;  // caught while stopping it: delivered again at detach
};

// Stops every thread of a process. Must live on the thread that made any ptrace
// requests for `held_tid` (ptrace requests only work from the tracing thread).
class FrozenTarget {
  public:
    // PTRACE_SEIZE + PTRACE_INTERRUPT of each thread in /proc/PID/task (repeated until no
    // new one appears). `held_tid`: a thread the caller already traces and holds stopped
    // (the launched command's, at its exit): its registers are read, nothing else.
    // Threads that exit or cannot be seized meanwhile are left out (said in skipped()).
    static FrozenTarget freeze(pid_t pid, pid_t held_tid = 0);
    FrozenTarget() = default;
    FrozenTarget(FrozenTarget&& o) noexcept : pid_(o.pid_), threads_(std::move(o.threads_)) {
        o.threads_.clear();
    }
    FrozenTarget(const FrozenTarget&) = delete;
    FrozenTarget& operator=(const FrozenTarget&) = delete;
    ~FrozenTarget() { thaw(); }
    // Detaches every thread it seized (re-delivering a signal caught while stopping it).
    void thaw();

    const std::vector<FrozenThread>& threads() const { return threads_; }
    int skipped() const { return skipped_; }
    std::vector<uint64_t> register_words() const;
    std::vector<uint64_t> stack_pointers() const;

  private:
    pid_t pid_ = 0;
    std::vector<FrozenThread> threads_;
    int skipped_ = 0;
};

// process_vm_readv from `pid`: how many bytes could be read (short at an unmapped page).
size_t read_target_memory(pid_t pid, uint64_t addr, std::span<uint8_t> out);

// Reachability of `blocks` in the stopped target: roots from its maps and threads
// (detect/leak_roots), memory by process_vm_readv.
Result<Reachability> scan_target(pid_t pid, const FrozenTarget& frozen,
                                 std::span<const HeldBlock> blocks);

}  // namespace perfbpf
