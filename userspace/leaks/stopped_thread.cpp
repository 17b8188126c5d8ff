#include "leaks/stopped_thread.h"

#include <cpuid.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "util/files.h"

namespace perfbpf {

namespace arch = inject_arch;

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

bool process_alive(int pid) {
    auto stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return false;
    auto close = stat->rfind(')');
    return !(close != std::string::npos && close + 2 < stat->size() &&
             ((*stat)[close + 2] == 'Z' || (*stat)[close + 2] == 'X'));
}

std::string status_field(const std::string& path, const std::string& key) {
    auto text = read_file(path);
    if (!text) return {};
    for (auto line : split_fields(*text, "\n"))
        if (line.starts_with(key + ":")) return std::string(trim(line.substr(key.size() + 1)));
    return {};
}

std::string exited_message(int pid) {
    return "process " + std::to_string(pid) + " exited during injection";
}

namespace {

void sleep_us(int us) {
    std::this_thread::sleep_for(std::chrono::microseconds(us));
}

// The state letter of /proc/PID/task/TID/stat ('R', 'S', 'D', 'T', 't', 'Z'), 0 if gone.
char thread_state(int pid, int tid) {
    auto stat =
        read_first_line("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
    if (!stat) return 0;
    auto close = stat->rfind(')');
    return close != std::string::npos && close + 2 < stat->size() ? (*stat)[close + 2] : 0;
}

std::vector<int> thread_ids(int pid) {
    std::vector<int> tids{pid};  // the main thread first
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        auto tid = parse_u64(e.path().filename().string());
        if (tid && static_cast<int>(*tid) != pid) tids.push_back(static_cast<int>(*tid));
        if (tids.size() >= 64) break;
    }
    return tids;
}

// A signal the thread raised itself by faulting (in a call: it crashed there).
bool fault_signal(int sig) {
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
           sig == SIGABRT;
}

// How many bytes of XSAVE state hold the features of `features` (CPUID leaf 0xD gives
// each user feature's offset and size in the standard format).
uint32_t xstate_extent(uint64_t features) {
    uint32_t end = arch::kXsaveMinBytes;
    for (unsigned i = 2; i < 64; ++i) {
        if (!((features >> i) & 1)) continue;
        unsigned size = 0, offset = 0, flags = 0, unused = 0;
        if (!__get_cpuid_count(0xd, i, &size, &offset, &flags, &unused)) continue;
        if (flags & 1) continue;  // supervisor state, never in a ptrace image
        end = std::max(end, size + offset);
    }
    return end;
}

}  // namespace

StoppedThread::Stop StoppedThread::wait_stop(uint64_t timeout_ns, int* sig, int* event) {
    const uint64_t deadline = now_ns() + timeout_ns;
    for (int spin = 0;; ++spin) {
        int st = 0;
        pid_t r = ::waitpid(tid_, &st, __WALL | WNOHANG);
        if (r == tid_) {
            if (WIFEXITED(st) || WIFSIGNALED(st)) {
                gone_ = true;
                return Stop::Exited;
            }
            if (WIFSTOPPED(st)) {
                *sig = WSTOPSIG(st);
                *event = st >> 16;
                at_ = *sig == (SIGTRAP | 0x80) ? At::Syscall : At::SignalHandling;
                return *event ? Stop::Stopped : Stop::Signal;
            }
        } else if (r < 0 && errno != EINTR) {
            gone_ = true;
            return Stop::Exited;
        }
        if (now_ns() >= deadline) return Stop::Timeout;
        sleep_us(spin < 50 ? 20 : 500);
    }
}

Result<void> StoppedThread::save_state() {
    if (::ptrace(PTRACE_GETREGS, tid_, nullptr, &saved_) != 0)
        return failed("ptrace GETREGS", errno);
    ext_state_.assign(64 * 1024, 0);
    for (int note : {arch::kExtendedStateNote, arch::kFpStateNote}) {
        iovec iov{ext_state_.data(), ext_state_.size()};
        if (::ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void*>(static_cast<long>(note)),
                     &iov) == 0) {
            ext_state_.resize(iov.iov_len);
            ext_note_ = note;
            break;
        }
    }
    if (!ext_note_) return fail_errno("ptrace GETREGSET (FPU state)", errno);
    // The mask the thread returns to (not a temporary one of ppoll or sigsuspend).
    if (::ptrace(PTRACE_GETSIGMASK, tid_, reinterpret_cast<void*>(sizeof(sigmask_)), &sigmask_) !=
        0)
        return failed("ptrace GETSIGMASK", errno);
    return {};
}

Result<void> StoppedThread::set_regs(const arch::Regs& r) {
    if (::ptrace(PTRACE_SETREGS, tid_, nullptr, &r) != 0) return failed("ptrace SETREGS", errno);
    return {};
}

Result<void> StoppedThread::arm(const LibcEntries& libc, uint64_t timeout_ns) {
    libc_ = libc;
    const std::span<const uint8_t> image(ext_state_);
    const std::vector<uint8_t> fp = arch::sigreturn_fpstate(
        image,
        ext_note_ == arch::kExtendedStateNote ? xstate_extent(arch::xsave_features(image)) : 0);
    layout_ = arch::plan_frame(saved_, fp.size(), kDataBytes);
    if (auto r = write(layout_.fpstate, fp.data(), fp.size()); !r) return r;
    const std::vector<uint8_t> head =
        arch::frame_head(saved_, sigmask_, layout_.fpstate, libc.restorer);
    if (auto r = write(layout_.frame, head.data(), head.size()); !r) return r;
    // The first change of a register: from here the thread returns through the frame.
    const uint64_t mmap_args[] = {0,     4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                                  ~0ULL, 0};
    changed_ = true;
    if (auto r = set_regs(arch::call_regs(saved_, libc.mmap, mmap_args, layout_.frame)); !r)
        return r;
    // No signal handler runs inside the calls (none is lost either: pending signals wait
    // for the restored mask). After the registers: a perfbpf that dies between the two
    // leaves the thread to restore its own mask.
    const uint64_t all = ~0ULL;
    if (::ptrace(PTRACE_SETSIGMASK, tid_, reinterpret_cast<void*>(sizeof(all)), &all) != 0)
        return failed("ptrace SETSIGMASK", errno);
    auto mapped = run_until(
        [](const arch::Regs& r) {
            return arch::syscall_nr(r) == arch::kMmapNr && static_cast<int64_t>(r.rax) != -ENOSYS;
        },
        timeout_ns, "mmap");
    if (!mapped) return std::unexpected(mapped.error());
    const auto page = static_cast<int64_t>(mapped->rax);
    if (page < 0 && page > -4096)
        return fail_errno("mmap of a page in the target", static_cast<int>(-page));
    // The code goes in with ptrace (the page is not writable); only then may a return land
    // in it.
    uint8_t code[40] = {};
    std::memcpy(code, arch::kReturnCode, sizeof(arch::kReturnCode));
    for (size_t off = 0; off < sizeof(code); off += 8) {
        long word = 0;
        std::memcpy(&word, code + off, 8);
        if (::ptrace(PTRACE_POKEDATA, tid_, reinterpret_cast<void*>(page + off),
                     reinterpret_cast<void*>(word)) != 0)
            return failed("write perfbpf's return code into the target", errno);
    }
    page_ = static_cast<uint64_t>(page);
    if (auto r = write(layout_.frame, &page_, sizeof(page_)); !r) return r;
    // errno is the thread's, in memory: the calls may change it under interrupted code.
    auto where = call(libc.errno_location, {}, timeout_ns, "__errno_location");
    if (!where) return std::unexpected(where.error());
    if (auto r = read(*where, &saved_errno_, sizeof(saved_errno_)); !r) return r;
    if (auto r = write(layout_.frame + arch::kErrnoValueOffset, &saved_errno_, sizeof(int)); !r)
        return r;
    errno_addr_ = *where;
    return write(layout_.frame + arch::kErrnoAddrOffset, &errno_addr_, sizeof(errno_addr_));
}

Result<arch::Regs> StoppedThread::run_until(const std::function<bool(const arch::Regs&)>& done,
                                            uint64_t timeout_ns, const std::string& what) {
    int resume_sig = 0;
    const uint64_t deadline = now_ns() + timeout_ns;
    for (;;) {
        if (::ptrace(PTRACE_SYSCALL, tid_, nullptr, reinterpret_cast<void*>(long{resume_sig})) != 0)
            return failed("ptrace SYSCALL", errno);
        resume_sig = 0;
        int sig = 0, event = 0;
        uint64_t left = deadline > now_ns() ? deadline - now_ns() : 0;
        Stop s = wait_stop(left, &sig, &event);
        if (s == Stop::Exited) return fail(exited_message(pid_));
        if (s == Stop::Timeout) {
            // Take the thread back wherever it is; its state is restored on detach,
            // abandoning the call (whatever locks it took stay taken).
            ::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr);
            if (wait_stop(1'000'000'000, &sig, &event) == Stop::Exited)
                return fail(exited_message(pid_));
            if (at_ == At::SignalHandling && !event && !fault_signal(sig)) deliver_ = sig;
            return fail(what + " did not return within " + std::to_string(timeout_ns / 1'000'000) +
                        " ms in the target (abandoned; the thread's state was restored)");
        }
        if (s == Stop::Stopped) continue;  // a group stop or a stray interrupt: go on
        if (at_ == At::Syscall) {
            arch::Regs now{};
            if (::ptrace(PTRACE_GETREGS, tid_, nullptr, &now) != 0)
                return failed("ptrace GETREGS", errno);
            if (done(now)) return now;
            continue;
        }
        if (fault_signal(sig))
            return fail(what + " crashed in the target (" + strsignal(sig) +
                        "); the thread's state was restored");
        resume_sig = sig;  // not blocked (cannot be): delivered as it would be anyway
    }
}

Result<uint64_t> StoppedThread::call(uint64_t fn, std::initializer_list<uint64_t> args,
                                     uint64_t timeout_ns, const std::string& what) {
    if (!page_) return fail("internal: " + what + " called in a thread not armed");
    if (auto r = set_regs(
            arch::call_regs(saved_, fn, std::span(args.begin(), args.size()), layout_.frame));
        !r)
        return std::unexpected(r.error());
    const uint64_t page = page_;
    auto back = run_until([page](const arch::Regs& r) { return arch::call_returned(r, page); },
                          timeout_ns, what);
    if (!back) return std::unexpected(back.error());
    return arch::call_result(*back);
}

Result<void> StoppedThread::unmap_page() {
    // The return slot first: a perfbpf that dies now leaves the thread at the return
    // page's rt_sigreturn, which does not read it.
    if (auto r = write(layout_.frame, &libc_.restorer, sizeof(libc_.restorer)); !r) return r;
    const uint64_t args[] = {page_, 4096};
    if (auto r = set_regs(arch::call_regs(saved_, libc_.munmap, args, layout_.frame)); !r) return r;
    auto done = run_until(
        [](const arch::Regs& r) {
            return arch::syscall_nr(r) == arch::kMunmapNr && static_cast<int64_t>(r.rax) != -ENOSYS;
        },
        1'000'000'000, "munmap");
    if (!done) return std::unexpected(done.error());
    page_ = 0;
    return {};
}

bool StoppedThread::reach_signal_handling() {
    arch::Regs now{};
    if (::ptrace(PTRACE_GETREGS, tid_, nullptr, &now) != 0) return false;
    // At the return page's rt_sigreturn: skipped (run, it would restore the state through
    // the frame, where a system call to resume is issued again rather than resumed).
    if (page_ && arch::call_returned(now, page_)) {
        now.orig_rax = ~0ULL;
        if (!set_regs(now)) return false;
    }
    if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0 ||
        ::ptrace(PTRACE_CONT, tid_, nullptr, nullptr) != 0)
        return false;
    int sig = 0, event = 0;
    for (int i = 0; i < 4; ++i) {
        Stop s = wait_stop(1'000'000'000, &sig, &event);
        if (s == Stop::Exited || s == Stop::Timeout) return false;
        if (at_ == At::SignalHandling) {
            if (s == Stop::Signal && !fault_signal(sig)) deliver_ = sig;
            return true;
        }
        if (::ptrace(PTRACE_CONT, tid_, nullptr, nullptr) != 0) return false;
    }
    return false;
}

void StoppedThread::restore_exactly() {
    // Each step leaves a state the thread can resume from should perfbpf die before the
    // next: FPU state, mask and errno first, the registers (which end the frame's use) last.
    iovec iov{ext_state_.data(), ext_state_.size()};
    ::ptrace(PTRACE_SETREGSET, tid_, reinterpret_cast<void*>(static_cast<long>(ext_note_)), &iov);
    ::ptrace(PTRACE_SETSIGMASK, tid_, reinterpret_cast<void*>(sizeof(sigmask_)), &sigmask_);
    if (errno_addr_) (void)write(errno_addr_, &saved_errno_, sizeof(saved_errno_));
    ::ptrace(PTRACE_SETREGS, tid_, nullptr, &saved_);
}

void StoppedThread::finish() {
    if (!attached_) return;
    attached_ = false;
    if (gone_) return;
    if (changed_) {
        arch::Regs now{};
        if (page_ && at_ == At::Syscall && ::ptrace(PTRACE_GETREGS, tid_, nullptr, &now) == 0 &&
            arch::call_returned(now, page_))
            (void)unmap_page();
        // Without a stop in the signal handling the thread is left to restore itself.
        if (gone_ || (at_ == At::Syscall && !reach_signal_handling())) {
            if (!gone_) ::ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
            return;
        }
        restore_exactly();
    }
    // From any stop in the signal handling: a signal-delivery stop (a crash in a call) is
    // suppressed unless it is one to deliver, and a system call the thread was stopped in
    // restarts.
    ::ptrace(PTRACE_DETACH, tid_, nullptr, reinterpret_cast<void*>(long{deliver_}));
}

Result<void> StoppedThread::write(uint64_t addr, const void* buf, size_t len) {
    iovec local{const_cast<void*>(buf), len}, remote{reinterpret_cast<void*>(addr), len};
    if (::process_vm_writev(pid_, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(len))
        return failed("write the target's memory", errno);
    return {};
}

Result<void> StoppedThread::read(uint64_t addr, void* buf, size_t len) {
    iovec local{buf, len}, remote{reinterpret_cast<void*>(addr), len};
    if (::process_vm_readv(pid_, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(len))
        return failed("read the target's memory", errno);
    return {};
}

Result<std::string> StoppedThread::read_string(uint64_t addr, size_t max) {
    std::string out;
    char chunk[64];
    while (out.size() < max) {
        // A string may end just before an unmapped page: read up to the page end only.
        size_t n = std::min<size_t>(sizeof(chunk), 4096 - (addr & 4095));
        if (auto r = read(addr, chunk, n); !r) return std::unexpected(r.error());
        for (size_t i = 0; i < n; ++i) {
            if (!chunk[i]) return out;
            out.push_back(chunk[i]);
        }
        addr += n;
    }
    return out;
}

Result<std::unique_ptr<StoppedThread>> StoppedThread::stop_at_safe_point(
    int pid, const std::vector<CodeRange>& code, const std::vector<Mapping>& maps,
    uint64_t timeout_ns) {
    const uint64_t deadline = now_ns() + timeout_ns;
    std::minstd_rand rng(static_cast<unsigned>(now_ns()));
    std::string last_why = "no thread could be stopped";
    for (int attempt = 0; now_ns() < deadline; ++attempt) {
        if (!process_alive(pid)) return fail(exited_message(pid));
        std::vector<int> tids = thread_ids(pid);
        int tid = tids[attempt % tids.size()];
        char state = thread_state(pid, tid);
        if (state == 'T' || state == 't')
            return fail("process " + std::to_string(pid) + " is stopped (" +
                        (state == 'T' ? "SIGSTOP or job control" : "by a tracer") +
                        "): injection needs it running");
        if (state == 0 || state == 'Z' || state == 'D') {
            last_why = "thread " + std::to_string(tid) + " is in uninterruptible sleep";
            sleep_us(1000);
            continue;
        }
        // System-call stops (marked, so they cannot be taken for a SIGTRAP) are where the
        // calls are followed; their stop code, left pending by a perfbpf that dies, is no
        // signal. Nothing else of ptrace's is used that a death could turn into a signal
        // (no single-stepping, no breakpoints).
        if (::ptrace(PTRACE_SEIZE, tid, nullptr,
                     reinterpret_cast<void*>(long{PTRACE_O_TRACESYSGOOD})) != 0) {
            int err = errno;
            if (err == ESRCH) continue;  // that thread just exited
            std::string tracer = status_field(
                "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status",
                "TracerPid");
            if (!tracer.empty() && tracer != "0")
                return fail("process " + std::to_string(pid) + " is already traced by pid " +
                            tracer);
            return fail_errno("ptrace attach to " + std::to_string(pid), err);
        }
        std::unique_ptr<StoppedThread> t(new StoppedThread(pid, tid));
        ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
        int sig = 0, event = 0;
        Stop s = t->wait_stop(500'000'000, &sig, &event);
        if (s == Stop::Exited) {
            if (!process_alive(pid)) return fail(exited_message(pid));
            t->attached_ = false;
            continue;
        }
        if (s == Stop::Timeout) {
            // Not stopping (uninterruptible in the kernel): wait for the stop the
            // interrupt will bring, then let the thread go.
            t->wait_stop(2'000'000'000, &sig, &event);
            last_why = "thread " + std::to_string(tid) + " did not stop";
            continue;
        }
        if (s == Stop::Signal) {
            // A signal was on its way to the thread: deliver it on detach, try again.
            ::ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(long{sig}));
            t->attached_ = false;
            continue;
        }
        if (event == PTRACE_EVENT_STOP && sig != SIGTRAP)
            return fail("process " + std::to_string(pid) +
                        " is stopping (job control): injection needs it running");
        // At an interrupt stop. Inside the allocator's or the loader's code (not a system
        // call) it is let go and tried again later (a thread is rarely there for long).
        arch::Regs regs{};
        std::string why;
        if (::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0)
            why = "not readable";
        else
            why = unsafe_spot(regs, code);
        // A sleep already resumed once after a stop (restart_syscall) could only end early
        // with EINTR should perfbpf die: another moment is preferred for half the time.
        if (why.empty() && arch::in_syscall(regs) &&
            arch::syscall_nr(regs) == arch::kRestartSyscallNr &&
            now_ns() < deadline - timeout_ns / 2)
            why = "resuming a sleep (restart_syscall)";
        if (why.empty()) {
            // Room below the stack pointer: the calls run on the thread's stack.
            uint64_t sp = arch::stack_pointer(regs);
            bool room = false;
            for (const auto& m : maps)
                if (sp > m.start && sp <= m.end)
                    room = m.path == "[stack]" || sp - m.start >= 64 * 1024;
            if (!room) why = "too little stack below its stack pointer (a signal stack?)";
        }
        if (why.empty()) {
            if (auto r = t->save_state(); !r) return std::unexpected(r.error());
            return t;
        }
        last_why = "thread " + std::to_string(tid) + " was " + why;
        t.reset();  // detach: it goes on where it was
        sleep_us(200 + static_cast<int>(rng() % 2000));
    }
    return fail("no thread of process " + std::to_string(pid) +
                " reached a safe point to call into within " +
                std::to_string(timeout_ns / 1'000'000) + " ms (last: " + last_why + ")");
}

}  // namespace perfbpf
