#include "leaks/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "collect/collector.h"
#include "collect/parse/procfs.h"
#include "leaks/session_loop.h"
#include "leaks/session_mode.h"
#include "leaks/session_report.h"
#include "leaks/session_target.h"
#include "probes/leaks_probe.h"
#include "util/files.h"
#include "util/install_paths.h"

namespace perfbpf {

uint32_t live_entries(const LeaksTraceOptions& opts) {
    if (opts.max_live) return opts.max_live;
    return static_cast<uint32_t>(
        std::clamp<uint64_t>(opts.live_memory_bytes / kLiveEntryBytes, 1024, 1u << 30));
}

uint32_t live_prealloc_entries(const LeaksTraceOptions& opts, uint64_t mem_available_bytes) {
    const uint32_t entries = live_entries(opts);
    if (opts.live_prealloc) return std::min(opts.live_prealloc, entries);
    // Sampled mode tracks one allocation in thousands: the floor is plenty, and its
    // start-up stays cheap.
    if (opts.mode == "sampled") return std::min(entries, kLivePrealloc);
    const uint64_t affordable = mem_available_bytes / 16 / kLiveEntryBytes;
    return static_cast<uint32_t>(
        std::min<uint64_t>(entries, std::max<uint64_t>(affordable, kLivePrealloc)));
}

uint64_t mem_available_bytes() {
    auto text = read_file("/proc/meminfo");
    if (!text) return 0;
    auto m = parse_meminfo(*text);
    auto it = m.find("MemAvailable");
    return it == m.end() ? 0 : it->second;
}

Result<std::string> find_shim_library() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return fail("cannot read /proc/self/exe: " + ec.message());
    return find_shim_library_for(exe);
}

Result<LeakReport> run_leaks_trace(const LeaksTraceOptions& opts, const std::atomic<bool>& stop,
                                   const LeaksIntervalFn& on_interval) {
    TraceTarget target;
    if (auto r = check_target(opts, target); !r) return std::unexpected(r.error());
    TraceProbes probes;
    auto shared = SharedMaps::create();
    if (!shared) return std::unexpected(shared.error());
    probes.shared = std::move(*shared);
    if (auto r = start_target(opts, target); !r) return std::unexpected(r.error());
    if (auto r = setup_mode(opts, target, probes); !r) return std::unexpected(r.error());

    const uint64_t start_ns = monotonic_ns();
    if (auto r = let_target_run(opts, target); !r) return std::unexpected(r.error());
    // With -v (or SPDLOG_LEVEL=info): the moment from which allocations count, which a
    // script (the kernel tests) can wait for before starting the work to be traced.
    spdlog::info("tracing {}: attached, {} mode", target.description(), opts.mode);

    TraceSampling sampling(opts, target, probes, start_ns);
    run_sampling_loop(stop, on_interval, probes, sampling);
    return final_report(opts, target, probes, sampling);
}

}  // namespace perfbpf
