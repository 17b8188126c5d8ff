#include "leaks/session_mode.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fd.h"
#include "util/files.h"

namespace perfbpf {

namespace {

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa, sb;
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

// The interposition library as the target sees it. A target in another mount namespace
// (a container) or root gets a copy in its own /tmp, removed once it is mapped (the
// mapping and the uprobe keep the file alive).
struct ShimForTarget {
    std::string host;    // the path perfbpf opens (and attaches the uprobe to)
    std::string target;  // the path the target's dlopen opens
    bool copied = false;
    ShimForTarget() = default;
    ShimForTarget(const ShimForTarget&) = delete;
    ShimForTarget& operator=(const ShimForTarget&) = delete;
    void remove_copy() {
        if (copied) ::unlink(host.c_str());
        copied = false;
    }
    ~ShimForTarget() { remove_copy(); }
};

Result<void> shim_for_target(int pid, const std::string& shim, ShimForTarget& out) {
    const std::string root = "/proc/" + std::to_string(pid) + "/root";
    if (same_file(shim, root + shim)) {
        out.host = out.target = shim;
        return {};
    }
    std::string tmpl = root + "/tmp/libperfbpf_shim.XXXXXX.so";
    int fd = ::mkstemps(tmpl.data(), 3);
    if (fd < 0) return fail_errno("copy the shim into the target's /tmp", errno);
    UniqueFd dst(fd);
    auto bytes = read_file(shim);
    if (!bytes) return std::unexpected(bytes.error());
    bool ok = ::write(fd, bytes->data(), bytes->size()) == static_cast<ssize_t>(bytes->size());
    ::fchmod(fd, 0755);
    out.host = tmpl;
    out.target = tmpl.substr(root.size());
    out.copied = true;
    if (!ok) return fail_errno("copy the shim into " + tmpl, errno);
    return {};
}

std::string overhead_warning(const std::string& mode, bool command) {
    if (mode == "exact")
        return command ? "exact mode sees every allocation: expect the target to run several "
                         "times slower (measured ≈2-6x on a malloc-bound program)"
                       : "exact mode on a running process: expect a malloc-bound target to run "
                         "≈6x slower while traced through the injected library, 60-150x "
                         "through uprobes";
    if (mode == "sampled") return "sampled mode: expect a few percent of overhead";
    if (mode == "growth") return {};
    return {};
}

// -p exact: the interposition library loaded into the running target and attached (the
// probe in p.probe, the library in p.injected), or why not.
Result<void> inject_library(const LeaksTraceOptions& opts, TraceTarget& t, TraceProbes& p,
                            ShimForTarget& shim_copy) {
    const int pid = t.pid;
    if (auto why = injection_blocker(pid); !why.empty()) return fail(why);
    auto s = opts.shim_path.empty() ? find_shim_library() : Result<std::string>(opts.shim_path);
    if (!s) return std::unexpected(s.error());
    if (auto r = shim_for_target(pid, *s, shim_copy); !r) return r;
    LeaksProbeOptions po;
    po.tgid = pid;
    po.max_stacks = opts.max_stacks;
    po.max_live = live_entries(opts);
    po.live_prealloc = live_prealloc_entries(opts, mem_available_bytes());
    po.shim = true;
    auto probe = LeaksProbe::load(*p.shared, po);
    if (!probe) return std::unexpected(probe.error());
    // Attached before the library is mapped: the first batch is already seen.
    if (auto r = (*probe)->attach_shim(shim_copy.host, pid); !r) return r;
    p.inject_opts.library = shim_copy.target;
    p.inject_opts.max_stacks = opts.max_stacks - 1;
    const std::string& maps_file = t.maps_file->path;
    if (same_file(maps_file, "/proc/" + std::to_string(pid) + "/root" + maps_file))
        p.inject_opts.maps_file = maps_file;
    auto in = inject_shim(pid, t.lib, p.inject_opts);
    shim_copy.remove_copy();
    if (!in) return std::unexpected(in.error());
    p.injected = *in;
    p.probe = std::move(*probe);
    return {};
}

// What the report says about the probes: overhead, probes that could not attach.
void add_probe_notes(const LeaksTraceOptions& opts, const TraceTarget& t, TraceProbes& p,
                     const std::string& path_note) {
    if (auto w = overhead_warning(opts.mode, t.command); !w.empty()) {
        spdlog::warn("{}", w);
        p.notes.push_back(w);
    }
    if (!path_note.empty()) p.notes.push_back(path_note);
    if (p.probe && !t.command && !p.injected) {
        for (const auto& probe : p.probe->probes()) {
            if (!probe.attached && !probe.reason.empty())
                p.notes.push_back(probe.reason);
            else if (probe.attached && !probe.emulated)
                p.notes.push_back(probe.function +
                                  ": probed on an instruction the kernel "
                                  "single-steps (slow per call)");
        }
    }
    if (p.growth) {
        for (const auto& st : p.growth->status())
            if (!st.attached) p.notes.push_back(st.probe + ": " + st.reason);
        if (!t.command)
            p.notes.push_back(
                "growth mode names the code paths that add memory; for every allocation's "
                "stack and exact outstanding bytes run --mode exact (slower)");
        p.notes.push_back("growth mode samples one stack per " +
                          std::to_string(p.growth->sample_bytes()) +
                          " bytes of growth on average (--sample-bytes): bytes per stack are "
                          "estimates");
    }
}

}  // namespace

Result<void> setup_mode(const LeaksTraceOptions& opts, TraceTarget& t, TraceProbes& p) {
    const int pid = t.pid;
    const std::string& lib = t.lib;
    ShimForTarget shim_copy;
    std::string path_note;
    if (t.pid_exact && opts.inject != "never" && opts.allocator_lib.empty()) {
        auto tried = inject_library(opts, t, p, shim_copy);
        if (tried) {
            path_note = "exact mode on a running process: perfbpf loaded " + shim_copy.target +
                        " into it (ptrace and dlopen on thread " + std::to_string(p.injected->tid) +
                        ", " + std::to_string(p.injected->took_ns / 1000) + " µs) and routed " +
                        std::to_string(p.injected->control.patched_slots) +
                        " allocator entries in " +
                        std::to_string(p.injected->control.patched_modules) + " modules through it";
        } else if (!check_pid(pid).empty()) {
            return fail(tried.error().message);  // it exited meanwhile
        } else if (opts.inject == "always") {
            return fail("cannot inject into process " + std::to_string(pid) + ": " +
                        tried.error().message);
        } else {
            path_note = "exact mode on a running process: injection not possible (" +
                        tried.error().message + "): using uprobes in " + lib + " (slower)";
        }
    } else if (t.pid_exact) {
        path_note = "exact mode on a running process: uprobes in " + lib + " (" +
                    (opts.allocator_lib.empty() ? "--inject=never" : "--allocator-lib") + ")";
    }
    if (!path_note.empty()) spdlog::warn("{}", path_note);
    if (p.injected) {
        // probe loaded and attached above
    } else if (t.kernel) {
        auto k = LeaksKernelProbe::load(*p.shared, t.system_wide ? 0 : pid);
        if (!k) return std::unexpected(k.error());
        p.kernel = std::move(*k);
    } else if (t.growth) {
        auto g = LeaksGrowthProbe::load(*p.shared, pid, opts.growth_sample_bytes);
        if (!g) return std::unexpected(g.error());
        p.growth = std::move(*g);
    } else {
        LeaksProbeOptions po;
        po.tgid = pid;
        po.max_stacks = opts.max_stacks;
        po.max_live = live_entries(opts);
        po.live_prealloc = live_prealloc_entries(opts, mem_available_bytes());
        po.shim = t.command;
        auto probe = LeaksProbe::load(*p.shared, po);
        if (!probe && !t.command && !check_pid(pid).empty()) return fail(check_pid(pid));
        if (!probe) return std::unexpected(probe.error());
        p.probe = std::move(*probe);
        if (t.command) {
            if (auto r = p.probe->attach_shim(t.shim, pid); !r) return std::unexpected(r.error());
        } else {
            if (auto r = p.probe->attach_allocator(lib, pid); !r) return std::unexpected(r.error());
        }
    }
    if (!t.command && !t.system_wide) {
        if (auto why = check_pid(pid); !why.empty()) return fail(why + " (during attach)");
    }
    add_probe_notes(opts, t, p, path_note);
    return {};
}

}  // namespace perfbpf
