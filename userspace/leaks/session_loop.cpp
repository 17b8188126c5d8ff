#include "leaks/session_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "collect/collector.h"
#include "detect/leak_trend.h"
#include "leaks/frames.h"

namespace perfbpf {

namespace {

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

}  // namespace

TraceSampling::TraceSampling(const LeaksTraceOptions& o, TraceTarget& t, const TraceProbes& p,
                             uint64_t start)
    : opts(o), target(t), start_ns(start) {
    if (p.kernel) kernel_reader = std::make_unique<LeaksKernelReader>(*p.kernel, start_ns);
    if (p.probe) reader = std::make_unique<LeaksReader>(*p.probe, start_ns);
    if (p.growth) growth_reader = std::make_unique<LeaksGrowthReader>(*p.growth, t.pid, start_ns);
    if (t.kernel) ksyms = std::make_unique<KernelSymbols>(KernelSymbols::load());
}

void TraceSampling::sample(uint64_t now) {
    if (reader) reader->sample(now);
    if (growth_reader) growth_reader->sample(now, maps);
    if (kernel_reader) kernel_reader->sample(now, maps);
}

LeakReport TraceSampling::build(uint64_t now) const {
    LeakReport r = kernel_reader ? kernel_reader->report(now, opts.min_age_ns)
                   : reader
                       ? reader->report(now, opts.mode, opts.mode == "sampled", opts.min_age_ns)
                       : growth_reader->report(now);
    classify_trends(r);
    return r;
}

void TraceSampling::refresh_maps() {
    if (target.system_wide) return;
    if (auto m = read_proc_maps(target.pid); m && !m->empty()) maps.merge(*m);
}

void run_sampling_loop(const std::atomic<bool>& stop, const LeaksIntervalFn& on_interval,
                       TraceProbes& p, TraceSampling& s) {
    const LeaksTraceOptions& opts = s.opts;
    TraceTarget& t = s.target;
    auto target_gone = [&] { return t.gone(); };
    const std::optional<InjectedShim>& injected = p.injected;

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
        if (auto m = read_proc_maps(t.pid))
            for (const auto& mapping : *m)
                if (mapping.executable && mapping.is_file()) files.insert(mapping.path);
        return files;
    };
    if (injected) code_files = executable_files();
    uint64_t next_module_check_ns = 0;
    int rescans = 0;
    auto watch_modules = [&] {
        // New user contexts arrive by ring buffer: drained every 20 ms (once per interval
        // lost 1,144 of ~1,800 on a python TCP loop).
        if (s.kernel_reader) s.kernel_reader->drain();
        if (!injected || monotonic_ns() < next_module_check_ns) return;
        next_module_check_ns = monotonic_ns() + 200'000'000;
        auto files = executable_files();
        bool added = false;
        for (const auto& f : files) added |= !code_files.contains(f);
        code_files = std::move(files);
        if (added && rescan_shim(*injected, p.inject_opts)) ++rescans;
    };

    std::vector<std::string>& end_notes = s.end_notes;
    const InjectOptions& inject_opts = p.inject_opts;
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

    s.refresh_maps();
    uint64_t next = s.start_ns + opts.interval_ns;
    const uint64_t end = opts.duration_ns ? s.start_ns + opts.duration_ns : UINT64_MAX;
    for (;;) {
        wait_until(std::min(next, end), stop, target_gone, watch_modules);
        uint64_t now = monotonic_ns();
        if (!target_gone()) s.refresh_maps();
        const bool done = stop.load() || target_gone() || now >= end;
        if (done) {
            finish_injection();  // flushes the detaching thread's batch: sample after it
            now = monotonic_ns();
        }
        s.sample(now);
        if (done) break;
        if (on_interval) {
            LeakReport interim = s.build(now);
            interim.pid = t.pid;
            interim.comm = t.comm;
            symbolize_report(interim, s.maps, s.symbolizer, s.ksyms.get());
            on_interval(interim);
        }
        next += opts.interval_ns;
    }
    // The end of what the report covers (symbolizing and writing it come after).
    spdlog::info("tracing {}: stopped after {:.1f} s", t.description(),
                 static_cast<double>(monotonic_ns() - s.start_ns) / 1e9);
}

}  // namespace perfbpf
