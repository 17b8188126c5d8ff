// One thread of a running process under ptrace, stopped where it may be made to call
// functions of its own (the injection sessions of leaks/inject.cpp), with every register,
// its signal mask and errno saved, and a return path that restores them by itself.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "leaks/inject_spot.h"
#include "symbolize/proc_maps.h"
#include "util/result.h"

namespace perfbpf {

// Monotonic clock, for the sessions' deadlines.
uint64_t now_ns();
// False once `pid` is gone or a zombie.
bool process_alive(int pid);
// The value of `key:` in a /proc status file ("" when absent or unreadable).
std::string status_field(const std::string& path, const std::string& key);
// The one error a session gives when the target exits under it.
std::string exited_message(int pid);

// The functions of the target's libc an injection session calls, and its signal
// restorer (the return address of the calls made before and after perfbpf's return page
// is mapped).
struct LibcEntries {
    uint64_t errno_location = 0, mmap = 0, munmap = 0, restorer = 0;
};

// One thread of the target under ptrace, stopped, with its state saved. Once armed, every
// call it is made to run returns through code that restores that state by itself, so a
// perfbpf killed at any moment leaves the thread resuming where it was; with perfbpf alive
// the destructor gives it back exactly (from a ptrace stop) and detaches.
class StoppedThread {
  public:
    static constexpr uint64_t kDataBytes = 1024;  // strings passed to the calls

    // Seizes a thread of `pid` and stops it where unsafe_spot() finds nothing, within
    // `timeout_ns`, trying each thread in turn.
    static Result<std::unique_ptr<StoppedThread>> stop_at_safe_point(
        int pid, const std::vector<CodeRange>& code, const std::vector<Mapping>& maps,
        uint64_t timeout_ns);

    ~StoppedThread() { finish(); }
    StoppedThread(const StoppedThread&) = delete;
    StoppedThread& operator=(const StoppedThread&) = delete;

    int tid() const { return tid_; }
    uint64_t data_addr() const { return layout_.data; }
    Result<void> write(uint64_t addr, const void* buf, size_t len);
    Result<void> read(uint64_t addr, void* buf, size_t len);
    Result<std::string> read_string(uint64_t addr, size_t max);
    // Writes the signal frame below the stack pointer, maps the return page (libc's mmap,
    // returning through libc's restorer) and records errno: from then on the thread
    // restores itself whenever a call returns and nobody takes it back.
    Result<void> arm(const LibcEntries& libc, uint64_t timeout_ns);
    // Runs fn(args...) in the thread; its return value. Only once armed.
    Result<uint64_t> call(uint64_t fn, std::initializer_list<uint64_t> args, uint64_t timeout_ns,
                          const std::string& what);
    // Unmaps the return page, restores the state exactly, detaches.
    void finish();

  private:
    StoppedThread(int pid, int tid) : pid_(pid), tid_(tid) {}
    enum class Stop { Stopped, Signal, Exited, Timeout };
    // Where the thread is stopped: in the kernel's signal handling (an interrupt, group or
    // signal-delivery stop: its registers can be set as they will be used) or at a
    // system-call stop.
    enum class At { SignalHandling, Syscall };
    Stop wait_stop(uint64_t timeout_ns, int* sig, int* event);
    Result<void> save_state();
    // Resumes with PTRACE_SYSCALL until a system-call stop whose registers satisfy `done`.
    Result<inject_arch::Regs> run_until(const std::function<bool(const inject_arch::Regs&)>& done,
                                        uint64_t timeout_ns, const std::string& what);
    Result<void> set_regs(const inject_arch::Regs& r);
    Result<void> unmap_page();
    // From a system-call stop, on to a stop in the signal handling (PTRACE_INTERRUPT).
    bool reach_signal_handling();
    void restore_exactly();
    // An error for a failed ptrace or memory access: the process's exit, when that is why.
    std::unexpected<Error> failed(const std::string& what, int err) {
        int sig = 0, event = 0;
        // ESRCH from a thread that was stopped: it is being killed; its exit follows.
        if (!process_alive(pid_) ||
            (err == ESRCH && wait_stop(1'000'000'000, &sig, &event) == Stop::Exited)) {
            gone_ = true;
            return fail(exited_message(pid_));
        }
        return fail_errno(what, err);
    }
    int pid_, tid_;
    bool attached_ = true, gone_ = false, changed_ = false;
    At at_ = At::SignalHandling;
    int deliver_ = 0;  // a signal that arrived meanwhile, delivered on detach
    inject_arch::Regs saved_{};
    std::vector<uint8_t> ext_state_;
    int ext_note_ = 0;
    uint64_t sigmask_ = 0;
    inject_arch::FrameLayout layout_;
    LibcEntries libc_;
    uint64_t page_ = 0;  // the return page, 0 before it is mapped and after it is unmapped
    uint64_t errno_addr_ = 0;
    int saved_errno_ = 0;
};

}  // namespace perfbpf
