#include "collect/leaks_trace.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "collect/collector.h"
#include "collect/leaks_freeze.h"
#include "collect/leaks_growth_reader.h"
#include "collect/leaks_inject.h"
#include "collect/leaks_kernel_reader.h"
#include "collect/leaks_reader.h"
#include "collect/leaks_target.h"
#include "detect/leak_interval.h"
#include "probes/bpf_object.h"
#include "probes/leaks_growth_probe.h"
#include "probes/leaks_kernel_probe.h"
#include "probes/leaks_probe.h"
#include "symbolize/leak_frames.h"
#include "util/files.h"
#include "util/install_paths.h"
#include "util/privileges.h"

namespace perfbpf {

uint32_t live_entries(const LeaksTraceOptions& opts) {
    if (opts.max_live) return opts.max_live;
    return static_cast<uint32_t>(
        std::clamp<uint64_t>(opts.live_memory_bytes / kLiveEntryBytes, 1024, 1u << 30));
}

Result<std::string> find_shim_library() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return fail("cannot read /proc/self/exe: " + ec.message());
    return find_shim_library_for(exe);
}

namespace {

// Detaching uprobes waits for RCU grace periods (≈0.1 s here), which a traced command's
// run would otherwise include. A helper process that shares the probes' file descriptions
// holds the last references: the tracer closes its own cheaply and goes on; the helper
// closes its copies (the slow release) after the tracer lets it go, with stdio closed so
// nobody waits for its output.
class BackgroundRelease {
  public:
    BackgroundRelease() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return;
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(fds[1]);
            for (int fd = 0; fd <= 2; ++fd) ::close(fd);
            char b;
            while (::read(fds[0], &b, 1) > 0) {
            }
            _exit(0);
        }
        ::close(fds[0]);
        if (pid < 0) {
            ::close(fds[1]);
            return;
        }
        go_ = fds[1];
    }
    // Call after the tracer has dropped its own references.
    void release() {
        if (go_ >= 0) ::close(go_);
        go_ = -1;
    }
    ~BackgroundRelease() { release(); }

  private:
    int go_ = -1;
};

// Sleeps until `deadline_ns` or until stop/target exit, polling (and calling `tick`)
// every 20 ms.
void wait_until(uint64_t deadline_ns, const std::atomic<bool>& stop,
                const std::function<bool()>& target_gone, const std::function<void()>& tick) {
    while (monotonic_ns() < deadline_ns && !stop.load() && !target_gone()) {
        tick();
        uint64_t left = deadline_ns - monotonic_ns();
        std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<uint64_t>(left, 20'000'000)));
    }
}

// What the report leaves out because a table was full: said in the report itself.
void add_limit_notes(LeakReport& r, const LeaksTraceOptions& opts) {
    if (uint64_t n = r.counters["live_full"]) {
        const std::string limit =
            opts.max_live ? "--max-live " + std::to_string(opts.max_live)
                          : "--live-memory " + std::to_string(opts.live_memory_bytes >> 20) + " (" +
                                std::to_string(live_entries(opts)) + " allocations)";
        r.notes.push_back(std::to_string(n) +
                          " allocations untracked: outstanding bytes are a lower bound (the "
                          "table of outstanding allocations was full at " +
                          limit + ")");
    }
    const uint64_t full = r.counters["stack_full"] + r.counters["stack_range"];
    if (full || r.unattributed.allocs > 0) {
        r.notes.push_back(
            std::to_string(std::llround(r.unattributed.allocs)) +
            " allocations have no stored stack (" + std::to_string(full) +
            " because the stack table was full: --max-stacks " + std::to_string(opts.max_stacks) +
            (r.counters["images"] > 1 ? ", shared by the " + std::to_string(r.counters["images"]) +
                                            " program images exec'ed"
                                      : std::string()) +
            "): their " + std::to_string(std::llround(r.unattributed.outstanding_bytes)) +
            " outstanding bytes are attributed to no stack");
    }
}

// Sampled mode: what the estimates can say about a program that allocates little.
void add_sampling_notes(LeakReport& r, const LeaksTraceOptions& opts) {
    // The library states its mean in its first batch, which a program that allocated
    // nothing sampled may never have handed over.
    if (!r.sample_mean_bytes) r.sample_mean_bytes = opts.sample_bytes;
    const double mean = static_cast<double>(r.sample_mean_bytes);
    double allocated = 0;
    for (const auto& s : r.stacks) allocated += s.allocated_bytes;
    if (allocated >= 100 * mean || mean <= 0) return;
    const uint64_t suggest = std::max<uint64_t>(
        64, std::bit_floor(static_cast<uint64_t>(allocated > 0 ? allocated / 1000 : mean / 64)));
    if (r.stacks.empty()) {
        r.notes.push_back("nothing sampled; up to " +
                          std::to_string(std::llround(kNoSampleExpected95 * mean)) +
                          " bytes may be outstanding (95 %, at one sample per " +
                          std::to_string(r.sample_mean_bytes) +
                          " bytes); for a program that allocates little use a smaller "
                          "--sample-bytes, e.g. " +
                          std::to_string(suggest));
        return;
    }
    r.notes.push_back("the sampled allocations add up to about " +
                      std::to_string(std::llround(allocated)) +
                      " bytes, under 100 sampling means: the estimates rest on few samples; "
                      "--sample-bytes " +
                      std::to_string(suggest) + " would sample this program more finely");
}

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

struct TempFile {
    std::string path;
    TempFile() {
        char tmpl[] = "/tmp/perfbpf-maps.XXXXXX";
        int fd = ::mkstemp(tmpl);
        if (fd >= 0) {
            ::close(fd);
            path = tmpl;
        }
    }
    ~TempFile() {
        if (!path.empty()) ::unlink(path.c_str());
    }
};

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

// Exact mode at the end: the target held still while its memory is scanned for pointers
// to the outstanding blocks; each stack's bytes split by memcheck's classes. A launched
// command is stopped by its tracer (`child`, held at its exit when it exited), a running
// process is seized here. Why it could not be done goes into the notes.
void add_reachability(LeakReport& r, const LeaksReader& reader, int pid, SpawnedTarget* child,
                      const std::string& not_held) {
    auto skip = [&](const std::string& why) {
        r.notes.push_back("no reachability scan: " + why +
                          " (outstanding bytes are not split into lost and reachable)");
    };
    if (!not_held.empty()) return skip(not_held);
    if (child) {
        if (!child->traced() && child->exited())
            return skip(
                "the command ended before its memory could be held (another thread "
                "than the first ended it, or its first thread exited alone)");
        if (auto s = child->stop_traced(); !s) return skip(s.error().message);
    } else if (!check_pid(pid).empty()) {
        return skip("process " + std::to_string(pid) + " exited before the end of the trace");
    }
    const uint64_t t0 = monotonic_ns();
    FrozenTarget frozen = FrozenTarget::freeze(pid, child ? pid : 0);
    const auto blocks = reader.outstanding_blocks();
    auto reach = scan_target(pid, frozen, blocks);
    const size_t threads = frozen.threads().size();
    frozen.thaw();
    if (child) child->release_hold();
    if (!reach) return skip(reach.error().message);
    std::map<uint32_t, LeakStack*> by_index;
    for (auto& s : r.stacks) by_index[s.index] = &s;
    auto& sum = r.reach;
    // By Reach's order: definitely lost, indirectly lost, possibly lost, reachable.
    constexpr double LeakStack::*kField[] = {&LeakStack::lost_bytes, &LeakStack::indirect_bytes,
                                             &LeakStack::possible_bytes,
                                             &LeakStack::reachable_bytes};
    for (size_t i = 0; i < blocks.size(); ++i) {
        auto it = by_index.find(blocks[i].stack);
        if (it != by_index.end())
            it->second->*kField[static_cast<size_t>(reach->reach[i])] +=
                static_cast<double>(blocks[i].size);
    }
    sum.scanned = true;
    sum.lost_bytes = static_cast<double>(reach->definitely_lost.bytes);
    sum.lost_blocks = reach->definitely_lost.blocks;
    sum.indirect_bytes = static_cast<double>(reach->indirectly_lost.bytes);
    sum.indirect_blocks = reach->indirectly_lost.blocks;
    sum.possible_bytes = static_cast<double>(reach->possibly_lost.bytes);
    sum.possible_blocks = reach->possibly_lost.blocks;
    sum.reachable_bytes = static_cast<double>(reach->reachable.bytes);
    sum.reachable_blocks = reach->reachable.blocks;
    sum.root_bytes = reach->root_bytes;
    sum.threads = threads;
    r.counters["reach_scan_us"] = (monotonic_ns() - t0) / 1000;
    if (frozen.skipped())
        r.notes.push_back("reachability: " + std::to_string(frozen.skipped()) +
                          " thread(s) could not be stopped; their registers and stacks were "
                          "not scanned");
}

}  // namespace

Result<LeakReport> run_leaks_trace(const LeaksTraceOptions& opts, const std::atomic<bool>& stop,
                                   const LeaksIntervalFn& on_interval) {
    const bool command = !opts.command.empty();
    const bool kernel = opts.kernel;
    const bool system_wide = kernel && !command && opts.pid <= 0;
    if (command && opts.pid > 0) return fail("give either -p PID or -- CMD ARGS, not both");
    if (!command && opts.pid <= 0 && !kernel) return fail("give either -p PID or -- CMD ARGS");
    if (!command && !system_wide) {
        if (auto why = check_pid(opts.pid); !why.empty()) return fail(why);
    }
    const bool growth = opts.mode == "growth" && !kernel;
    if (!kernel && opts.mode != "exact" && opts.mode != "sampled" && !growth)
        return fail("mode " + opts.mode + " is not available here");
    if (opts.mode == "sampled" && !command && !kernel)
        return fail(
            "sampled mode needs the interposition library: use -- CMD (for a running "
            "process: --mode growth, or --mode exact)");

    // Checks that need no privileges come first, so their message is the one shown.
    std::string shim, exe;
    if (command) {
        auto path = resolve_command(opts.command[0]);
        if (!path) return std::unexpected(path.error());
        exe = *path;
        if (!growth && !kernel) {
            // Run anyway, it would report "0 leaking stacks" for a program nothing watched.
            if (auto why = preload_blocker(exe); !why.empty())
                return fail("cannot trace " + exe + " for leaks: " + why +
                            "; --mode growth needs no library (it names the code paths that "
                            "add memory)");
        }
        if (!growth) {
            auto s =
                opts.shim_path.empty() ? find_shim_library() : Result<std::string>(opts.shim_path);
            if (!s) return std::unexpected(s.error());
            shim = *s;
        }
    }
    if (auto msg = current_privileges().missing_message("trace --leaks"); !msg.empty())
        return fail(msg);

    if (opts.inject != "auto" && opts.inject != "always" && opts.inject != "never")
        return fail("--inject takes auto, always or never");
    const bool pid_exact = !command && !growth && !kernel;
    if (pid_exact && opts.inject == "always" && !opts.allocator_lib.empty())
        return fail(
            "--inject=always cannot be used with --allocator-lib (which is probed with "
            "uprobes)");
    std::string lib;
    if (pid_exact) {
        if (!opts.allocator_lib.empty()) {
            if (::access(opts.allocator_lib.c_str(), R_OK) != 0)
                return fail_errno("--allocator-lib " + opts.allocator_lib, errno);
            lib = opts.allocator_lib;
        } else {
            auto l = find_mapped_libc(opts.pid);
            if (!l) return std::unexpected(l.error());
            lib = *l;
        }
    }

    auto shared = SharedMaps::create();
    if (!shared) return std::unexpected(shared.error());

    TempFile maps_file;
    std::optional<SpawnedTarget> child;
    std::string not_held;  // why a launched command is not held at its exit
    int pid = opts.pid;
    if (command) {
        std::string preload = shim;
        if (const char* old = std::getenv("LD_PRELOAD"); old && *old)
            preload += ":" + std::string(old);
        std::vector<std::pair<std::string, std::string>> env;
        if (!growth)
            env = {
                {"LD_PRELOAD", preload},
                {"PERFBPF_LEAKS_MODE", opts.mode},
                {"PERFBPF_LEAKS_SAMPLE_BYTES", std::to_string(opts.sample_bytes)},
                {"PERFBPF_LEAKS_MAX_STACKS", std::to_string(opts.max_stacks - 1)},
                {"PERFBPF_LEAKS_MAPS_FILE", maps_file.path},
                {"PERFBPF_LEAKS_PID", "$PID"},  // the shim records only in the traced process
            };
        if (opts.seed && !growth && !kernel)
            env.push_back({"PERFBPF_LEAKS_SEED", std::to_string(opts.seed)});
        auto spawned = SpawnedTarget::spawn_paused(exe, opts.command, env);
        if (!spawned) return std::unexpected(spawned.error());
        child = std::move(*spawned);
        pid = child->pid();
        if (opts.mode == "exact" && !kernel) {
            if (auto h = child->hold_at_exit(); !h) not_held = h.error().message;
        }
    }

    std::unique_ptr<LeaksProbe> probe;
    std::unique_ptr<LeaksGrowthProbe> growth_probe;
    std::unique_ptr<LeaksKernelProbe> kernel_probe;
    // -p exact: the interposition library injected into the target, or uprobes in its libc.
    std::optional<InjectedShim> injected;
    ShimForTarget shim_copy;
    InjectOptions inject_opts;
    std::string path_note;
    if (pid_exact && opts.inject != "never" && opts.allocator_lib.empty()) {
        auto tried = [&]() -> Result<void> {
            if (auto why = injection_blocker(pid); !why.empty()) return fail(why);
            auto s =
                opts.shim_path.empty() ? find_shim_library() : Result<std::string>(opts.shim_path);
            if (!s) return std::unexpected(s.error());
            if (auto r = shim_for_target(pid, *s, shim_copy); !r) return r;
            LeaksProbeOptions po;
            po.tgid = pid;
            po.max_stacks = opts.max_stacks;
            po.max_live = live_entries(opts);
            po.shim = true;
            auto p = LeaksProbe::load(*shared, po);
            if (!p) return std::unexpected(p.error());
            // Attached before the library is mapped: the first batch is already seen.
            if (auto r = (*p)->attach_shim(shim_copy.host, pid); !r) return r;
            inject_opts.library = shim_copy.target;
            inject_opts.max_stacks = opts.max_stacks - 1;
            if (same_file(maps_file.path,
                          "/proc/" + std::to_string(pid) + "/root" + maps_file.path))
                inject_opts.maps_file = maps_file.path;
            auto in = inject_shim(pid, lib, inject_opts);
            shim_copy.remove_copy();
            if (!in) return std::unexpected(in.error());
            injected = *in;
            probe = std::move(*p);
            return {};
        }();
        if (tried) {
            path_note = "exact mode on a running process: perfbpf loaded " + shim_copy.target +
                        " into it (ptrace and dlopen on thread " + std::to_string(injected->tid) +
                        ", " + std::to_string(injected->took_ns / 1000) + " µs) and routed " +
                        std::to_string(injected->control.patched_slots) + " allocator entries in " +
                        std::to_string(injected->control.patched_modules) + " modules through it";
        } else if (!check_pid(pid).empty()) {
            return fail(tried.error().message);  // it exited meanwhile
        } else if (opts.inject == "always") {
            return fail("cannot inject into process " + std::to_string(pid) + ": " +
                        tried.error().message);
        } else {
            path_note = "exact mode on a running process: injection not possible (" +
                        tried.error().message + "): using uprobes in " + lib + " (slower)";
        }
    } else if (pid_exact) {
        path_note = "exact mode on a running process: uprobes in " + lib + " (" +
                    (opts.allocator_lib.empty() ? "--inject=never" : "--allocator-lib") + ")";
    }
    if (!path_note.empty()) spdlog::warn("{}", path_note);
    if (injected) {
        // probe loaded and attached above
    } else if (kernel) {
        auto k = LeaksKernelProbe::load(*shared, system_wide ? 0 : pid);
        if (!k) return std::unexpected(k.error());
        kernel_probe = std::move(*k);
    } else if (growth) {
        auto g = LeaksGrowthProbe::load(*shared, pid, opts.growth_sample_bytes);
        if (!g) return std::unexpected(g.error());
        growth_probe = std::move(*g);
    } else {
        LeaksProbeOptions po;
        po.tgid = pid;
        po.max_stacks = opts.max_stacks;
        po.max_live = live_entries(opts);
        po.shim = command;
        auto p = LeaksProbe::load(*shared, po);
        if (!p && !command && !check_pid(pid).empty()) return fail(check_pid(pid));
        if (!p) return std::unexpected(p.error());
        probe = std::move(*p);
        if (command) {
            if (auto r = probe->attach_shim(shim, pid); !r) return std::unexpected(r.error());
        } else {
            if (auto r = probe->attach_allocator(lib, pid); !r) return std::unexpected(r.error());
        }
    }
    if (!command && !system_wide) {
        if (auto why = check_pid(pid); !why.empty()) return fail(why + " (during attach)");
    }

    LeakReport notes_only;
    if (auto w = overhead_warning(opts.mode, command); !w.empty()) {
        spdlog::warn("{}", w);
        notes_only.notes.push_back(w);
    }
    if (!path_note.empty()) notes_only.notes.push_back(path_note);
    if (probe && !command && !injected) {
        for (const auto& p : probe->probes()) {
            if (!p.attached && !p.reason.empty())
                notes_only.notes.push_back(p.reason);
            else if (p.attached && !p.emulated)
                notes_only.notes.push_back(p.function +
                                           ": probed on an instruction the kernel "
                                           "single-steps (slow per call)");
        }
    }
    if (growth_probe) {
        for (const auto& st : growth_probe->status())
            if (!st.attached) notes_only.notes.push_back(st.probe + ": " + st.reason);
        if (!command)
            notes_only.notes.push_back(
                "growth mode names the code paths that add memory; for every allocation's "
                "stack and exact outstanding bytes run --mode exact (slower)");
        notes_only.notes.push_back(
            "growth mode samples one stack per " + std::to_string(growth_probe->sample_bytes()) +
            " bytes of growth on average (--sample-bytes): bytes per stack are estimates");
    }

    const uint64_t start_ns = monotonic_ns();
    if (child) {
        if (auto r = child->release(); !r) return fail(opts.command[0] + ": " + r.error().message);
    }
    const std::string comm =
        command ? std::filesystem::path(exe).filename().string() : process_comm(pid);
    // With -v (or SPDLOG_LEVEL=info): the moment from which allocations count, which a
    // script (the kernel tests) can wait for before starting the work to be traced.
    const std::string traced =
        system_wide ? std::string("every process") : "pid " + std::to_string(pid) + " " + comm;
    spdlog::info("tracing {}: attached, {} mode", traced, opts.mode);

    std::unique_ptr<LeaksReader> reader;
    std::unique_ptr<LeaksGrowthReader> growth_reader;
    std::unique_ptr<LeaksKernelReader> kernel_reader;
    if (kernel_probe) kernel_reader = std::make_unique<LeaksKernelReader>(*kernel_probe, start_ns);
    if (probe) reader = std::make_unique<LeaksReader>(*probe, start_ns);
    if (growth_probe)
        growth_reader = std::make_unique<LeaksGrowthReader>(*growth_probe, pid, start_ns);
    const bool estimated = opts.mode == "sampled";
    MappingSet maps;
    auto sample = [&](uint64_t now) {
        if (reader) reader->sample(now);
        if (growth_reader) growth_reader->sample(now, maps);
        if (kernel_reader) kernel_reader->sample(now, maps);
    };
    auto build = [&](uint64_t now) {
        if (kernel_reader) return kernel_reader->report(now, opts.min_age_ns);
        return reader ? reader->report(now, opts.mode, estimated, opts.min_age_ns)
                      : growth_reader->report(now);
    };
    Symbolizer symbolizer;
    std::unique_ptr<KernelSymbols> ksyms;
    if (kernel) ksyms = std::make_unique<KernelSymbols>(KernelSymbols::load());
    auto refresh_maps = [&] {
        if (system_wide) return;
        if (auto m = read_proc_maps(pid); m && !m->empty()) maps.merge(*m);
    };
    bool exited = false;
    auto target_gone = [&] {
        if (system_wide) return false;
        if (exited) return true;
        if (child)
            exited = child->exited();
        else
            exited = !check_pid(pid).empty();
        return exited;
    };

    // The injected library restores its entries by itself when these stop (perfbpf
    // killed). A thread of its own, so a slow interim symbolization cannot miss a beat.
    std::jthread heartbeat;
    if (injected)
        heartbeat = std::jthread([shim = *injected](std::stop_token st) {
            for (uint64_t beat = 1; !st.stop_requested(); ++beat) {
                (void)write_shim_heartbeat(shim, beat);
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        });
    // A module the target dlopens is patched by the library at its next batch; one whose
    // only allocator calls are its own (unpatched) ones would start none: perfbpf sees it
    // in /proc/PID/maps within 0.2 s and makes the target patch it.
    std::set<std::string> code_files;
    auto executable_files = [&] {
        std::set<std::string> files;
        if (auto m = read_proc_maps(pid))
            for (const auto& mapping : *m)
                if (mapping.executable && mapping.is_file()) files.insert(mapping.path);
        return files;
    };
    if (injected) code_files = executable_files();
    uint64_t next_module_check_ns = 0;
    int rescans = 0;
    auto watch_modules = [&] {
        if (kernel_reader) kernel_reader->drain();
        if (!injected || monotonic_ns() < next_module_check_ns) return;
        next_module_check_ns = monotonic_ns() + 200'000'000;
        auto files = executable_files();
        bool added = false;
        for (const auto& f : files) added |= !code_files.contains(f);
        code_files = std::move(files);
        if (added && rescan_shim(*injected, inject_opts)) ++rescans;
    };

    std::vector<std::string> end_notes;
    auto finish_injection = [&] {
        if (!injected) return;
        if (rescans)
            end_notes.push_back(
                "modules loaded during the trace made perfbpf ask the library to "
                "patch them " +
                std::to_string(rescans) + " time(s)");
        if (target_gone()) return;
        auto before = read_shim_control(*injected);
        if (before && before->state == LEAKS_SHIM_SELF_DETACHED) {
            end_notes.push_back(
                "the injected library stopped recording before the end: it did not hear from "
                "perfbpf for " +
                std::to_string(inject_opts.heartbeat_timeout_ms) + " ms and restored its entries");
            return;
        }
        auto after = detach_shim(*injected, inject_opts);
        heartbeat = {};  // detached, or left to restore itself
        if (after)
            end_notes.push_back("at the end the injected library restored " +
                                std::to_string(after->restored_slots) +
                                " allocator entries (it stays loaded, idle)");
        else if (!target_gone())
            end_notes.push_back("could not make the target detach (" + after.error().message +
                                "): the injected library restores its entries by itself " +
                                std::to_string(inject_opts.heartbeat_timeout_ms) +
                                " ms after perfbpf's heartbeat stops");
        for (const auto& n : end_notes) spdlog::warn("{}", n);
    };

    refresh_maps();
    uint64_t next = start_ns + opts.interval_ns;
    const uint64_t end = opts.duration_ns ? start_ns + opts.duration_ns : UINT64_MAX;
    for (;;) {
        wait_until(std::min(next, end), stop, target_gone, watch_modules);
        uint64_t now = monotonic_ns();
        if (!target_gone()) refresh_maps();
        const bool done = stop.load() || target_gone() || now >= end;
        if (done) {
            finish_injection();  // flushes the detaching thread's batch: sample after it
            now = monotonic_ns();
        }
        sample(now);
        if (done) break;
        if (on_interval) {
            LeakReport interim = build(now);
            interim.pid = pid;
            interim.comm = comm;
            symbolize_report(interim, maps, symbolizer, ksyms.get());
            on_interval(interim);
        }
        next += opts.interval_ns;
    }
    // The end of what the report covers (symbolizing and writing it come after).
    spdlog::info("tracing {}: stopped after {:.1f} s", traced,
                 static_cast<double>(monotonic_ns() - start_ns) / 1e9);

    const uint64_t now = monotonic_ns();
    if (!target_gone()) refresh_maps();
    if (!maps_file.path.empty()) {
        if (auto text = read_file(maps_file.path); text && !text->empty())
            maps.merge(parse_proc_maps(*text));
    }
    if (target_gone() && growth_reader) sample(now);  // final stack totals (RSS is gone)
    LeakReport report = build(now);
    for (auto& p : report.processes) p.comm = comm;
    report.pid = pid;
    report.comm = comm;
    report.notes = notes_only.notes;
    for (const auto& n : end_notes) report.notes.push_back(n);
    if (reader && opts.mode == "exact")
        add_reachability(report, *reader, pid, child ? &*child : nullptr, not_held);
    if (reader) add_limit_notes(report, opts);
    if (reader && estimated) add_sampling_notes(report, opts);
    if (!command && opts.mode == "exact")
        report.notes.push_back(
            std::string("exact mode on a running process: allocations made before the ") +
            (injected ? "library was injected" : "trace started") +
            " are not known, so their frees are ignored");
    if (child) {
        report.target_exited = child->exited();
        if (report.target_exited) report.exit_code = child->exit_code();
    } else {
        report.target_exited = target_gone();
    }
    if (child && !report.target_exited) child->terminate();
    // The library announces itself when it starts; a command in which it never did was not
    // watched at all (a loader refused it, or the program dropped LD_PRELOAD), and its empty
    // report would read as "no leaks".
    const bool never_started = command && probe && probe->images() == 0;
    {
        BackgroundRelease helper;
        reader.reset();
        growth_reader.reset();
        kernel_reader.reset();
        probe.reset();
        growth_probe.reset();
        kernel_probe.reset();
        shared = std::unexpected(Error{"released"});
        helper.release();
    }
    if (never_started)
        return fail("nothing was traced: the interposition library never started in " + comm +
                    " (its loader did not load it, or the program dropped LD_PRELOAD); "
                    "--mode growth needs no library");
    symbolize_report(report, maps, symbolizer, ksyms.get());
    return report;
}

}  // namespace perfbpf
