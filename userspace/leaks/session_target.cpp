#include "leaks/session_target.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <utility>
#include <vector>

#include "leaks/inject.h"
#include "util/files.h"
#include "util/privileges.h"

namespace perfbpf {

namespace {

constexpr std::string_view kMapsDir = "/tmp", kMapsPrefix = "perfbpf-maps.";

// Maps files of ours whose tracer is gone (killed before it could remove them). Only regular
// files of this user, never followed through a link: /tmp is anyone's, and its sticky bit
// keeps others from swapping ours between the check and the unlink. Those of the older
// form (no pid) are stale once an hour old: no session of that version is still running.
void remove_stale_maps_files() {
    DIR* dir = ::opendir(std::string(kMapsDir).c_str());
    if (!dir) return;
    const time_t now = ::time(nullptr);
    while (dirent* de = ::readdir(dir)) {
        const int tracer = maps_file_tracer(de->d_name);
        if (tracer == 0 || tracer == ::getpid()) continue;
        struct stat st {};
        if (::fstatat(::dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || st.st_uid != ::geteuid())
            continue;
        const bool gone =
            tracer > 0 ? ::kill(tracer, 0) != 0 && errno == ESRCH : now - st.st_mtime > 3600;
        if (gone) ::unlinkat(::dirfd(dir), de->d_name, 0);
    }
    ::closedir(dir);
}

}  // namespace

int maps_file_tracer(std::string_view name) {
    if (!name.starts_with(kMapsPrefix)) return 0;
    name.remove_prefix(kMapsPrefix.size());
    const auto dot = name.find('.');
    if (dot == std::string_view::npos) return name.size() == 6 ? -1 : 0;
    auto pid = parse_u64(name.substr(0, dot));
    if (!pid || *pid == 0 || *pid > uint64_t(INT_MAX) || name.size() - dot - 1 != 6) return 0;
    return int(*pid);
}

TempFile::TempFile() {
    remove_stale_maps_files();
    std::string tmpl = std::string(kMapsDir) + "/" + std::string(kMapsPrefix) +
                       std::to_string(::getpid()) + ".XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd >= 0) {
        ::close(fd);
        path = tmpl;
    }
}

TempFile::~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
}

bool TraceTarget::gone() {
    if (system_wide) return false;
    if (exited_) return true;
    if (child)
        exited_ = child->exited();
    else
        exited_ = !check_pid(pid).empty();
    return exited_;
}

std::string TraceTarget::description() const {
    return system_wide ? std::string("every process") : "pid " + std::to_string(pid) + " " + comm;
}

Result<void> check_target(const LeaksTraceOptions& opts, TraceTarget& t) {
    t.command = !opts.command.empty();
    t.kernel = opts.kernel;
    t.system_wide = t.kernel && !t.command && opts.pid <= 0;
    t.pid = opts.pid;
    if (t.command && opts.pid > 0) return fail("give either -p PID or -- CMD ARGS, not both");
    if (!t.command && opts.pid <= 0 && !t.kernel) return fail("give either -p PID or -- CMD ARGS");
    if (!t.command && !t.system_wide) {
        if (auto why = check_pid(opts.pid); !why.empty()) return fail(why);
    }
    t.growth = opts.mode == "growth" && !t.kernel;
    if (!t.kernel && opts.mode != "exact" && opts.mode != "sampled" && !t.growth)
        return fail("mode " + opts.mode + " is not available here");
    if (opts.mode == "sampled" && !t.command && !t.kernel)
        return fail(
            "sampled mode needs the interposition library: use -- CMD (for a running "
            "process: --mode growth, or --mode exact)");

    // Checks that need no privileges come first, so their message is the one shown.
    if (t.command) {
        auto path = resolve_command(opts.command[0]);
        if (!path) return std::unexpected(path.error());
        t.exe = *path;
        if (!t.growth && !t.kernel) {
            // Run anyway, it would report "0 leaking stacks" for a program nothing watched.
            if (auto why = preload_blocker(t.exe); !why.empty())
                return fail("cannot trace " + t.exe + " for leaks: " + why +
                            "; --mode growth needs no library (it names the code paths that "
                            "add memory)");
        }
        if (!t.growth) {
            auto s =
                opts.shim_path.empty() ? find_shim_library() : Result<std::string>(opts.shim_path);
            if (!s) return std::unexpected(s.error());
            t.shim = *s;
        }
    }
    if (auto msg = current_privileges().missing_message("trace --leaks"); !msg.empty())
        return fail(msg);

    if (opts.inject != "auto" && opts.inject != "always" && opts.inject != "never")
        return fail("--inject takes auto, always or never");
    t.pid_exact = !t.command && !t.growth && !t.kernel;
    if (t.pid_exact && opts.inject == "always" && !opts.allocator_lib.empty())
        return fail(
            "--inject=always cannot be used with --allocator-lib (which is probed with "
            "uprobes)");
    if (t.pid_exact) {
        if (!opts.allocator_lib.empty()) {
            if (::access(opts.allocator_lib.c_str(), R_OK) != 0)
                return fail_errno("--allocator-lib " + opts.allocator_lib, errno);
            t.lib = opts.allocator_lib;
        } else {
            auto l = find_mapped_libc(opts.pid);
            if (!l) return std::unexpected(l.error());
            t.lib = *l;
        }
    }
    return {};
}

Result<void> start_target(const LeaksTraceOptions& opts, TraceTarget& t) {
    t.maps_file.emplace();
    if (!t.command) return {};
    std::string preload = t.shim;
    if (const char* old = std::getenv("LD_PRELOAD"); old && *old) preload += ":" + std::string(old);
    std::vector<std::pair<std::string, std::string>> env;
    if (!t.growth)
        env = {
            {"LD_PRELOAD", preload},
            {"PERFBPF_LEAKS_MODE", opts.mode},
            {"PERFBPF_LEAKS_SAMPLE_BYTES", std::to_string(opts.sample_bytes)},
            {"PERFBPF_LEAKS_MAX_STACKS", std::to_string(opts.max_stacks - 1)},
            {"PERFBPF_LEAKS_MAPS_FILE", t.maps_file->path},
            {"PERFBPF_LEAKS_PID", "$PID"},  // the shim records only in the traced process
        };
    if (opts.seed && !t.growth && !t.kernel)
        env.push_back({"PERFBPF_LEAKS_SEED", std::to_string(opts.seed)});
    auto spawned = SpawnedTarget::spawn_paused(t.exe, opts.command, env);
    if (!spawned) return std::unexpected(spawned.error());
    t.child = std::move(*spawned);
    t.pid = t.child->pid();
    if (opts.mode == "exact" && !t.kernel) {
        if (auto h = t.child->hold_at_exit(); !h) t.not_held = h.error().message;
    }
    return {};
}

Result<void> let_target_run(const LeaksTraceOptions& opts, TraceTarget& t) {
    if (t.child) {
        if (auto r = t.child->release(); !r)
            return fail(opts.command[0] + ": " + r.error().message);
    }
    t.comm = t.command ? std::filesystem::path(t.exe).filename().string() : process_comm(t.pid);
    return {};
}

}  // namespace perfbpf
