#include "leaks/inject.h"

#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "symbolize/elf_function.h"
#include "symbolize/proc_maps.h"
#include "util/files.h"

namespace perfbpf {

namespace arch = inject_arch;

namespace {

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

void sleep_us(int us) {
    std::this_thread::sleep_for(std::chrono::microseconds(us));
}

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool process_alive(int pid) {
    auto stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return false;
    auto close = stat->rfind(')');
    return !(close != std::string::npos && close + 2 < stat->size() &&
             ((*stat)[close + 2] == 'Z' || (*stat)[close + 2] == 'X'));
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

// The runtime address of `symbol` of the module mapped from `target_path`: its first
// mapping (file offset 0) is where its first segment, at address 0 in the file (as in any
// shared library the linker makes), was placed.
Result<uint64_t> module_symbol(const std::vector<Mapping>& maps, const std::string& target_path,
                               const std::string& file, const std::string& symbol) {
    uint64_t base = 0;
    bool found = false;
    for (const auto& m : maps)
        if (m.path == target_path && m.file_offset == 0 && (!found || m.start < base)) {
            base = m.start;
            found = true;
        }
    if (!found) return fail(target_path + " is not mapped");
    auto fn = find_elf_function(file, symbol);
    if (!fn) return std::unexpected(fn.error());
    return base + fn->vaddr;
}

// A signal the thread raised itself by faulting (in a call: it crashed there).
bool fault_signal(int sig) {
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
           sig == SIGABRT;
}

// The functions of the target's libc an injection session calls, and its signal
// restorer (the return address of the calls made before and after perfbpf's return page
// is mapped).
struct LibcEntries {
    uint64_t errno_location = 0, mmap = 0, munmap = 0, restorer = 0;
};

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
    Result<arch::Regs> run_until(const std::function<bool(const arch::Regs&)>& done,
                                 uint64_t timeout_ns, const std::string& what);
    Result<void> set_regs(const arch::Regs& r);
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
    arch::Regs saved_{};
    std::vector<uint8_t> ext_state_;
    int ext_note_ = 0;
    uint64_t sigmask_ = 0;
    arch::FrameLayout layout_;
    LibcEntries libc_;
    uint64_t page_ = 0;  // the return page, 0 before it is mapped and after it is unmapped
    uint64_t errno_addr_ = 0;
    int saved_errno_ = 0;
};

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

// Where libc's signal restorer (mov $15,%rax; syscall) is in the target: searched in
// libc's code as mapped.
Result<uint64_t> find_restorer(int pid, const std::vector<Mapping>& maps,
                               const std::string& libc_target) {
    constexpr size_t kPattern = sizeof(arch::kLibcRestorer), kChunk = 256 * 1024;
    std::vector<uint8_t> buf(kChunk);
    for (const auto& m : maps) {
        if (m.path != libc_target || !m.executable) continue;
        for (uint64_t at = m.start; at < m.end;) {
            size_t n = std::min<uint64_t>(kChunk, m.end - at);
            iovec local{buf.data(), n}, remote{reinterpret_cast<void*>(at), n};
            if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(n))
                return process_alive(pid) ? fail_errno("read libc's code in the target", errno)
                                          : fail(exited_message(pid));
            auto hit = std::search(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n),
                                   std::begin(arch::kLibcRestorer), std::end(arch::kLibcRestorer));
            if (hit != buf.begin() + static_cast<std::ptrdiff_t>(n))
                return at + static_cast<uint64_t>(hit - buf.begin());
            if (n < kChunk) break;
            at += n - (kPattern - 1);  // a match across the chunk boundary
        }
    }
    return fail(libc_target + " has no signal restorer (mov $15,%rax; syscall) to return through");
}

std::vector<CodeRange> unsafe_code(const std::vector<Mapping>& maps, const std::string& libc_target,
                                   const std::string& shim_target) {
    std::vector<CodeRange> out;
    for (const auto& m : maps) {
        if (!m.executable || !m.is_file()) continue;
        std::string base = base_name(m.path);
        if (m.path == libc_target)
            out.push_back({m.start, m.end, "libc"});
        else if (base.starts_with("ld-linux") || base.starts_with("ld-") || base == "ld.so")
            out.push_back({m.start, m.end, "the dynamic loader"});
        else if (m.path == shim_target || base.starts_with("libperfbpf_shim"))
            out.push_back({m.start, m.end, "perfbpf's shim"});
    }
    return out;
}

// libc's path as the target names it, from the path perfbpf opens (/proc/PID/root/...).
std::string target_view(int pid, const std::string& host_path) {
    std::string prefix = "/proc/" + std::to_string(pid) + "/root";
    return host_path.starts_with(prefix + "/") ? host_path.substr(prefix.size()) : host_path;
}

Result<std::vector<Mapping>> target_maps(int pid) {
    auto maps = read_proc_maps(pid);
    if (!maps)
        return process_alive(pid) ? std::unexpected(maps.error()) : fail(exited_message(pid));
    return maps;
}

// Runs `body` with a thread of the target stopped at a safe point and armed (its calls
// return safely whether or not perfbpf is alive), errno kept.
template <class Body>
auto with_stopped_thread(int pid, const std::string& libc, const std::string& shim_target,
                         const InjectOptions& opts, Body body)
    -> decltype(body(std::declval<StoppedThread&>(), std::declval<const std::vector<Mapping>&>())) {
    auto maps = target_maps(pid);
    if (!maps) return std::unexpected(maps.error());
    const std::string libc_target = target_view(pid, libc);
    LibcEntries entries;
    for (auto [field, name] :
         {std::pair{&entries.errno_location, "__errno_location"}, std::pair{&entries.mmap, "mmap"},
          std::pair{&entries.munmap, "munmap"}}) {
        auto fn = module_symbol(*maps, libc_target, libc, name);
        if (!fn) return std::unexpected(fn.error());
        *field = *fn;
    }
    auto restorer = find_restorer(pid, *maps, libc_target);
    if (!restorer) return std::unexpected(restorer.error());
    entries.restorer = *restorer;
    auto thread = StoppedThread::stop_at_safe_point(
        pid, unsafe_code(*maps, libc_target, shim_target), *maps, opts.safe_point_timeout_ns);
    if (!thread) return std::unexpected(thread.error());
    StoppedThread& t = **thread;
    if (opts.on_phase) opts.on_phase(InjectPhase::Stopped);
    if (auto r = t.arm(entries, opts.call_timeout_ns); !r) return std::unexpected(r.error());
    if (opts.on_phase) opts.on_phase(InjectPhase::Armed);
    auto result = body(t, *maps);
    if (opts.on_phase) opts.on_phase(InjectPhase::Returned);
    t.finish();
    return result;
}

Result<leaks_shim_control> read_control(int pid, uint64_t addr) {
    leaks_shim_control c{};
    iovec local{&c, sizeof(c)}, remote{reinterpret_cast<void*>(addr), sizeof(c)};
    if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(sizeof(c)))
        return process_alive(pid) ? fail_errno("read the shim's state in the target", errno)
                                  : fail(exited_message(pid));
    return c;
}

}  // namespace

std::string injection_blocker(int pid) {
#if !defined(__x86_64__)
    return "injection is implemented for x86-64 only";
#endif
    const std::string proc = "/proc/" + std::to_string(pid);
    if (auto scope = read_first_line("/proc/sys/kernel/yama/ptrace_scope"); scope && *scope == "3")
        return "ptrace is disabled on this host (kernel.yama.ptrace_scope = 3)";
    std::string tracer = status_field(proc + "/status", "TracerPid");
    if (!tracer.empty() && tracer != "0") {
        auto comm = read_first_line("/proc/" + tracer + "/comm");
        return "process " + std::to_string(pid) + " is already traced by pid " + tracer +
               (comm ? " (" + *comm + ")" : "");
    }
    std::string state = status_field(proc + "/status", "State");
    if (state.starts_with("T") || state.starts_with("t"))
        return "process " + std::to_string(pid) + " is stopped (" + state +
               "): injection needs it running";
    return {};
}

Result<InjectedShim> inject_shim(int pid, const std::string& libc, const InjectOptions& opts) {
    if (auto why = injection_blocker(pid); !why.empty()) return fail(why);
    if (opts.library.size() + opts.maps_file.size() + 64 > StoppedThread::kDataBytes)
        return fail("library path too long for injection: " + opts.library);
    const uint64_t start = now_ns();
    auto body = [&](StoppedThread& t, const std::vector<Mapping>& maps) -> Result<InjectedShim> {
        const std::string libc_target = target_view(pid, libc);
        auto dlopen_fn = module_symbol(maps, libc_target, libc, "dlopen");
        if (!dlopen_fn) return fail(libc_target + " has no dlopen (glibc before 2.34?)");
        auto dlerror_fn = module_symbol(maps, libc_target, libc, "dlerror");
        auto dlsym_fn = module_symbol(maps, libc_target, libc, "dlsym");
        if (!dlsym_fn) return std::unexpected(dlsym_fn.error());
        // Strings for the calls, in the data area below the thread's stack pointer.
        const uint64_t data = t.data_addr();
        std::string blob;
        auto put = [&](const std::string& s) {
            uint64_t at = data + blob.size();
            blob += s;
            blob.push_back('\0');
            return at;
        };
        const uint64_t lib_at = put(opts.library), attach_at = put(LEAKS_ATTACH_SYMBOL),
                       detach_at = put(LEAKS_DETACH_SYMBOL), rescan_at = put(LEAKS_RESCAN_SYMBOL),
                       maps_at = put(opts.maps_file);
        if (auto r = t.write(data, blob.data(), blob.size()); !r) return std::unexpected(r.error());
        auto handle =
            t.call(*dlopen_fn, {lib_at, RTLD_NOW | RTLD_LOCAL}, opts.call_timeout_ns, "dlopen");
        if (!handle) return std::unexpected(handle.error());
        if (!*handle) {
            std::string why = "unknown error";
            if (dlerror_fn) {
                auto msg = t.call(*dlerror_fn, {}, opts.call_timeout_ns, "dlerror");
                if (msg && *msg)
                    if (auto s = t.read_string(*msg, 300); s) why = *s;
            }
            return fail("dlopen in the target failed: " + why);
        }
        if (opts.on_phase) opts.on_phase(InjectPhase::Loaded);
        // dlsym takes the strings again: rewrite them (dlopen may have used the area).
        if (auto r = t.write(data, blob.data(), blob.size()); !r) return std::unexpected(r.error());
        auto attach_fn = t.call(*dlsym_fn, {*handle, attach_at}, opts.call_timeout_ns, "dlsym");
        auto detach_fn = t.call(*dlsym_fn, {*handle, detach_at}, opts.call_timeout_ns, "dlsym");
        auto rescan_fn = t.call(*dlsym_fn, {*handle, rescan_at}, opts.call_timeout_ns, "dlsym");
        if (!attach_fn) return std::unexpected(attach_fn.error());
        if (!detach_fn) return std::unexpected(detach_fn.error());
        if (!rescan_fn) return std::unexpected(rescan_fn.error());
        if (!*attach_fn || !*detach_fn || !*rescan_fn)
            return fail(opts.library + " in the target lacks " LEAKS_ATTACH_SYMBOL);
        if (auto r = t.write(data, blob.data(), blob.size()); !r) return std::unexpected(r.error());
        auto control = t.call(*attach_fn,
                              {LEAKS_SHIM_ABI, opts.max_stacks, opts.heartbeat_timeout_ms,
                               opts.maps_file.empty() ? 0 : maps_at},
                              opts.call_timeout_ns, LEAKS_ATTACH_SYMBOL);
        if (!control) return std::unexpected(control.error());
        InjectedShim shim;
        shim.pid = pid;
        shim.tid = t.tid();
        shim.control_addr = *control;
        shim.detach_fn = *detach_fn;
        shim.rescan_fn = *rescan_fn;
        auto c = read_control(pid, *control);
        if (!c) return std::unexpected(c.error());
        shim.control = *c;
        if (c->state != LEAKS_SHIM_ATTACHED) {
            std::string msg(c->message, strnlen(c->message, sizeof(c->message)));
            return fail("the shim in the target could not attach: " + msg);
        }
        return shim;
    };
    auto shim = with_stopped_thread(pid, libc, opts.library, opts, body);
    if (shim) shim->took_ns = now_ns() - start;
    return shim;
}

namespace {

// Makes a thread of the target call `fn()` in the shim; the control block after it.
Result<leaks_shim_control> call_shim(const InjectedShim& shim, const InjectOptions& opts,
                                     uint64_t fn, const char* what) {
    auto maps = target_maps(shim.pid);
    if (!maps) return std::unexpected(maps.error());
    std::string libc;
    for (const auto& m : *maps) {
        std::string base = base_name(m.path);
        if (m.is_file() &&
            (base.starts_with("libc.so") || (base.starts_with("libc-") && base.ends_with(".so")))) {
            libc = "/proc/" + std::to_string(shim.pid) + "/root" + m.path;
            break;
        }
    }
    if (libc.empty()) return fail("the target maps no C library any more");
    auto body = [&](StoppedThread& t, const std::vector<Mapping>&) -> Result<leaks_shim_control> {
        auto r = t.call(fn, {}, opts.call_timeout_ns, what);
        if (!r) return std::unexpected(r.error());
        return read_control(shim.pid, shim.control_addr);
    };
    return with_stopped_thread(shim.pid, libc, opts.library, opts, body);
}

}  // namespace

Result<leaks_shim_control> detach_shim(const InjectedShim& shim, const InjectOptions& opts) {
    return call_shim(shim, opts, shim.detach_fn, LEAKS_DETACH_SYMBOL);
}

Result<leaks_shim_control> rescan_shim(const InjectedShim& shim, const InjectOptions& opts) {
    return call_shim(shim, opts, shim.rescan_fn, LEAKS_RESCAN_SYMBOL);
}

Result<leaks_shim_control> read_shim_control(const InjectedShim& shim) {
    return read_control(shim.pid, shim.control_addr);
}

Result<void> write_shim_heartbeat(const InjectedShim& shim, uint64_t beat) {
    uint64_t addr = shim.control_addr + offsetof(leaks_shim_control, heartbeat);
    iovec local{&beat, sizeof(beat)}, remote{reinterpret_cast<void*>(addr), sizeof(beat)};
    if (::process_vm_writev(shim.pid, &local, 1, &remote, 1, 0) != sizeof(beat))
        return fail_errno("write the heartbeat", errno);
    return {};
}

}  // namespace perfbpf
