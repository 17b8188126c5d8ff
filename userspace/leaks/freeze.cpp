#include "leaks/freeze.h"

#include <dirent.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "detect/leak_roots.h"
#include "symbolize/proc_maps.h"

namespace perfbpf {

namespace {

std::set<pid_t> task_ids(pid_t pid) {
    std::set<pid_t> out;
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        const pid_t tid = static_cast<pid_t>(std::atoi(e->d_name));
        if (tid > 0) out.insert(tid);
    }
    ::closedir(d);
    return out;
}

// Waits (up to 2 s: a thread in an uninterruptible sleep stops when it wakes) for a seized
// thread's stop after PTRACE_INTERRUPT. False when it exited or did not stop.
bool wait_stopped(FrozenThread& t) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        int st = 0;
        const pid_t r = ::waitpid(t.tid, &st, __WALL | WNOHANG);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return false;
        if (r == t.tid) {
            if (WIFEXITED(st) || WIFSIGNALED(st)) return false;
            if (WIFSTOPPED(st)) {
                // A signal arrived first: the thread is stopped on it; it is delivered at
                // detach, and the interrupt still pending then is dropped by the detach.
                if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP) t.pending_signal = WSTOPSIG(st);
                return true;
            }
        }
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace

FrozenTarget FrozenTarget::freeze(pid_t pid, pid_t held_tid) {
    FrozenTarget f;
    f.pid_ = pid;
    std::set<pid_t> seen;
    // A thread created meanwhile shows up in the next listing; once every listed thread is
    // stopped no new one can be created.
    for (bool added = true; added;) {
        added = false;
        for (pid_t tid : task_ids(pid)) {
            if (!seen.insert(tid).second) continue;
            added = true;
            FrozenThread t;
            t.tid = tid;
            if (tid != held_tid) {
                if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
                    f.skipped_++;
                    continue;
                }
                t.seized = true;
                if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 || !wait_stopped(t)) {
                    // Exited, or never stopped: a running tracee cannot be detached; the
                    // kernel detaches it when perfbpf exits.
                    f.skipped_++;
                    continue;
                }
            }
            t.have_regs = ::ptrace(PTRACE_GETREGS, tid, nullptr, &t.regs) == 0;
            f.threads_.push_back(t);
        }
    }
    return f;
}

void FrozenTarget::thaw() {
    for (auto& t : threads_)
        if (t.seized)
            ::ptrace(PTRACE_DETACH, t.tid, nullptr,
                     reinterpret_cast<void*>(static_cast<uintptr_t>(t.pending_signal)));
    threads_.clear();
}

std::vector<uint64_t> FrozenTarget::register_words() const {
    std::vector<uint64_t> out;
    for (const auto& t : threads_) {
        if (!t.have_regs) continue;
        const auto* w = reinterpret_cast<const unsigned long long*>(&t.regs);
        out.insert(out.end(), w, w + sizeof(t.regs) / sizeof(*w));
    }
    return out;
}

std::vector<uint64_t> FrozenTarget::stack_pointers() const {
    std::vector<uint64_t> out;
    for (const auto& t : threads_)
        if (t.have_regs) out.push_back(t.regs.rsp);
    return out;
}

size_t read_target_memory(pid_t pid, uint64_t addr, std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
        iovec local{out.data() + done, out.size() - done};
        iovec remote{reinterpret_cast<void*>(addr + done), out.size() - done};
        const ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    return done;
}

Result<Reachability> scan_target(pid_t pid, const FrozenTarget& frozen,
                                 std::span<const HeldBlock> blocks) {
    auto maps = read_proc_maps(pid);
    if (!maps) return std::unexpected(maps.error());
    if (maps->empty()) return fail("process " + std::to_string(pid) + " maps no memory (gone)");
    const auto sps = frozen.stack_pointers();
    const auto roots = select_roots(*maps, sps, blocks);
    const auto regs = frozen.register_words();
    return classify_reachability(blocks, roots, regs, [pid](uint64_t addr, std::span<uint8_t> out) {
        return read_target_memory(pid, addr, out);
    });
}

}  // namespace perfbpf
