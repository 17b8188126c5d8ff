#include "leaks/target.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "symbolize/proc_maps.h"
#include "util/fd.h"
#include "util/files.h"

namespace perfbpf {

namespace {

// Whether the ELF file `fd` names a dynamic loader (PT_INTERP); nullopt when it is not a
// 64-bit ELF file we can read (perfbpf only builds for 64-bit targets).
std::optional<bool> has_interpreter(int fd) {
    Elf64_Ehdr h;
    if (::pread(fd, &h, sizeof(h), 0) != static_cast<ssize_t>(sizeof(h)) ||
        std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0 || h.e_ident[EI_CLASS] != ELFCLASS64 ||
        h.e_phentsize != sizeof(Elf64_Phdr) || h.e_phnum == 0 || h.e_phnum > 4096)
        return std::nullopt;
    for (unsigned i = 0; i < h.e_phnum; ++i) {
        Elf64_Phdr ph;
        const off_t at = static_cast<off_t>(h.e_phoff + i * sizeof(ph));
        if (::pread(fd, &ph, sizeof(ph), at) != static_cast<ssize_t>(sizeof(ph)))
            return std::nullopt;
        if (ph.p_type == PT_INTERP) return true;
    }
    return false;
}

// The kernel runs a setuid/setgid file in secure-execution mode (AT_SECURE) when it
// changes our effective ids, unless the file's mount ignores those bits.
bool secure_exec(int fd, const struct stat& st) {
    const bool uid_changes = (st.st_mode & S_ISUID) && st.st_uid != ::geteuid();
    bool gid_changes = (st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != ::getegid();
    if (gid_changes) {
        std::vector<gid_t> groups(static_cast<size_t>(std::max(::getgroups(0, nullptr), 0)));
        const int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
        for (int i = 0; i < n; ++i)
            if (groups[static_cast<size_t>(i)] == st.st_gid) gid_changes = false;
    }
    if (!uid_changes && !gid_changes) return false;
    struct statvfs vfs;
    return ::fstatvfs(fd, &vfs) != 0 || !(vfs.f_flag & ST_NOSUID);
}

}  // namespace

std::string preload_blocker(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0) return {};  // exec will say why
    auto interp = has_interpreter(fd.get());
    if (!interp) return {};
    if (!*interp)
        return "it is statically linked, so no interposition library can be loaded into it";
    if (secure_exec(fd.get(), st))
        return std::string("it is set") + ((st.st_mode & S_ISUID) ? "uid" : "gid") +
               " to another " + ((st.st_mode & S_ISUID) ? "user" : "group") +
               ", so the dynamic loader runs it in secure mode and ignores the "
               "interposition library";
    return {};
}

Result<std::string> resolve_command(const std::string& cmd) {
    auto check = [](const std::string& path) -> Result<std::string> {
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) return fail_errno(path, errno);
        if (S_ISDIR(st.st_mode)) return fail(path + ": is a directory");
        if (::access(path.c_str(), X_OK) != 0)
            return fail(path + ": not executable (" + errno_text(errno) + ")");
        return path;
    };
    if (cmd.empty()) return fail("no command given");
    if (cmd.find('/') != std::string::npos) return check(cmd);
    const char* path_env = std::getenv("PATH");
    std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
    bool found_not_exec = false;
    for (auto dir : split_fields(path, ":")) {
        std::string candidate = std::string(dir) + "/" + cmd;
        struct stat st;
        if (::stat(candidate.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        found_not_exec = true;
    }
    return fail(cmd + (found_not_exec ? ": not executable" : ": command not found"));
}

Result<SpawnedTarget> SpawnedTarget::spawn_paused(
    const std::string& path, const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& env) {
    int go[2], status[2];
    if (::pipe2(go, O_CLOEXEC) != 0) return fail_errno("pipe", errno);
    if (::pipe2(status, O_CLOEXEC) != 0) {
        ::close(go[0]);
        ::close(go[1]);
        return fail_errno("pipe", errno);
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        for (int fd : {go[0], go[1], status[0], status[1]}) ::close(fd);
        return fail_errno("fork", err);
    }
    if (pid == 0) {
        ::close(go[1]);
        ::close(status[0]);
        char b;
        // Wait for the parent: it attaches the probes first. EOF means it gave up.
        if (::read(go[0], &b, 1) != 1) _exit(127);
        const std::string self = std::to_string(::getpid());
        for (const auto& [k, v] : env)
            ::setenv(k.c_str(), v == "$PID" ? self.c_str() : v.c_str(), 1);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(path.c_str(), args.data());
        int err = errno;
        (void)!::write(status[1], &err, sizeof(err));
        _exit(127);
    }
    ::close(go[0]);
    ::close(status[1]);
    SpawnedTarget t;
    t.pid_ = pid;
    t.go_.reset(go[1]);
    t.status_.reset(status[0]);
    return t;
}

SpawnedTarget::SpawnedTarget(SpawnedTarget&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      reaped_(o.reaped_),
      exit_code_(o.exit_code_),
      traced_(std::exchange(o.traced_, false)),
      at_exit_(std::exchange(o.at_exit_, false)),
      pending_signal_(o.pending_signal_),
      go_(std::move(o.go_)),
      status_(std::move(o.status_)) {}

SpawnedTarget& SpawnedTarget::operator=(SpawnedTarget&& o) noexcept {
    if (this != &o) {
        kill_and_reap();
        pid_ = std::exchange(o.pid_, -1);
        reaped_ = o.reaped_;
        exit_code_ = o.exit_code_;
        traced_ = std::exchange(o.traced_, false);
        at_exit_ = std::exchange(o.at_exit_, false);
        pending_signal_ = o.pending_signal_;
        go_ = std::move(o.go_);
        status_ = std::move(o.status_);
    }
    return *this;
}

SpawnedTarget::~SpawnedTarget() {
    kill_and_reap();
}

void SpawnedTarget::kill_and_reap() {
    if (pid_ > 0 && !reaped_) {
        ::kill(pid_, SIGKILL);
        for (;;) {
            int st;
            const pid_t r = ::waitpid(pid_, &st, __WALL);
            if (r < 0 && errno == EINTR) continue;
            // A traced child may still stop at its exit: let it finish.
            if (r == pid_ && WIFSTOPPED(st)) {
                ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
                continue;
            }
            break;
        }
        reaped_ = true;
        traced_ = at_exit_ = false;
    }
}

Result<void> SpawnedTarget::release() {
    char b = 1;
    if (::write(go_.get(), &b, 1) != 1) return fail_errno("start the target", errno);
    go_.reset();
    int err = 0;
    ssize_t n;
    while ((n = ::read(status_.get(), &err, sizeof(err))) < 0 && errno == EINTR) {
    }
    status_.reset();
    if (n == static_cast<ssize_t>(sizeof(err))) {
        kill_and_reap();
        return fail_errno("cannot execute the command", err);
    }
    return {};
}

void SpawnedTarget::reaped(int st) {
    reaped_ = true;
    traced_ = at_exit_ = false;
    exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

bool SpawnedTarget::exited() {
    if (pid_ <= 0 || reaped_ || at_exit_) return true;
    for (;;) {
        int st;
        const pid_t r = ::waitpid(pid_, &st, WNOHANG | (traced_ ? __WALL : 0));
        if (r != pid_) return false;
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            reaped(st);
            return true;
        }
        if (WIFSTOPPED(st) && traced_ && on_trace_stop(st)) return true;
    }
}

namespace {

// At the first thread's exit stop: whether the whole process is ending (its other threads
// go within moments of exit_group) rather than that thread alone (pthread_exit).
bool only_thread_left(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    for (int waited = 0; waited < 200; waited += 5) {
        size_t n = 0;
        std::error_code ec;
        for (auto it = std::filesystem::directory_iterator(dir, ec);
             !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
            ++n;
        if (n <= 1) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

bool job_control_stop(int sig) {
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

}  // namespace

bool SpawnedTarget::on_trace_stop(int st) {
    const int event = st >> 16, sig = WSTOPSIG(st);
    if (event == PTRACE_EVENT_EXIT) {
        if (only_thread_left(pid_)) {
            at_exit_ = true;
            return true;
        }
        ::ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);  // not the process: let it go
        traced_ = false;
        return false;
    }
    if (event == PTRACE_EVENT_STOP) {
        // A group stop stays one (PTRACE_LISTEN); any other such stop is let go.
        ::ptrace(job_control_stop(sig) ? PTRACE_LISTEN : PTRACE_CONT, pid_, nullptr, nullptr);
        return false;
    }
    ::ptrace(PTRACE_CONT, pid_, nullptr, reinterpret_cast<void*>(static_cast<uintptr_t>(sig)));
    return false;
}

Result<void> SpawnedTarget::hold_at_exit() {
    if (::ptrace(PTRACE_SEIZE, pid_, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACEEXIT)) != 0)
        return fail_errno("ptrace seize of the command (to hold it at exit)", errno);
    traced_ = true;
    return {};
}

Result<void> SpawnedTarget::stop_traced() {
    if (!traced_) return fail("the command is not traced");
    if (at_exit_) return {};
    if (::ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr) != 0)
        return fail_errno("ptrace interrupt of the command", errno);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        int st;
        const pid_t r = ::waitpid(pid_, &st, WNOHANG | __WALL);
        if (r < 0 && errno != EINTR) return fail_errno("wait for the command to stop", errno);
        if (r == pid_) {
            if (WIFEXITED(st) || WIFSIGNALED(st)) {
                reaped(st);
                return fail("the command exited before it could be stopped");
            }
            const int event = st >> 16;
            if (event == PTRACE_EVENT_EXIT && only_thread_left(pid_)) {
                at_exit_ = true;
                return {};
            }
            if (event == 0) pending_signal_ = WSTOPSIG(st);  // delivered at release_hold()
            if (event == 0 || event == PTRACE_EVENT_STOP) return {};
            (void)on_trace_stop(st);
            if (!traced_) return fail("the command's first thread exited");
        }
        if (std::chrono::steady_clock::now() > deadline) return fail("the command did not stop");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

void SpawnedTarget::release_hold() {
    if (!traced_) return;
    ::ptrace(PTRACE_DETACH, pid_, nullptr,
             reinterpret_cast<void*>(static_cast<uintptr_t>(std::exchange(pending_signal_, 0))));
    traced_ = false;
    if (!at_exit_) return;
    int st;
    pid_t r;
    while ((r = ::waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
    }
    if (r == pid_) reaped(st);
    at_exit_ = false;
}

void SpawnedTarget::terminate(int grace_ms) {
    if (pid_ <= 0 || exited()) return;
    ::kill(pid_, SIGTERM);
    for (int waited = 0; waited < grace_ms; waited += 10) {
        if (exited()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill_and_reap();
}

std::string check_pid(int pid, const std::string& proc_root) {
    if (pid <= 0) return "invalid pid " + std::to_string(pid);
    auto stat = read_first_line(proc_root + "/" + std::to_string(pid) + "/stat");
    if (!stat) return "no process " + std::to_string(pid);
    auto close = stat->rfind(')');
    if (close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] == 'Z')
        return "process " + std::to_string(pid) + " has exited (zombie)";
    return {};
}

Result<std::string> find_mapped_libc(int pid, const std::string& proc_root) {
    auto maps = read_proc_maps(pid, proc_root);
    if (!maps) return std::unexpected(maps.error());
    for (const auto& m : *maps) {
        if (!m.is_file()) continue;
        auto slash = m.path.rfind('/');
        std::string_view base = std::string_view(m.path).substr(slash + 1);
        if (base.starts_with("libc.so") || (base.starts_with("libc-") && base.ends_with(".so")))
            return proc_root + "/" + std::to_string(pid) + "/root" + m.path;
    }
    return fail("process " + std::to_string(pid) +
                " maps no C library (statically linked?): use --allocator-lib with the file "
                "that defines its malloc and free (for a static binary, the binary itself)");
}

std::string process_comm(int pid, const std::string& proc_root) {
    auto c = read_first_line(proc_root + "/" + std::to_string(pid) + "/comm");
    return c ? *c : std::string();
}

}  // namespace perfbpf
