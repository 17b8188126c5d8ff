// `perfbpf trace --leaks`: allocation tracing with stacks, file:line and growth trends.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/finite.h"
#include "cli/signals.h"
#include "leaks/session.h"
#include "sinks/leaks_sink.h"
#include "util/files.h"
#include "util/safe_open.h"

namespace perfbpf::cli {
namespace {

struct TraceOptions {
    bool leaks = false;
    int pid = 0;
    std::string mode;
    bool kernel = false;
    double interval_s = 1.0;
    double duration_s = 0;
    size_t top = 10;
    double min_age_s = 0;
    uint64_t sample_bytes = 0;  // 0: each mode's default
    uint64_t seed = 0;
    bool json = false;
    std::string folded;
    std::string output;
    std::string allocator_lib;
    std::string inject = "auto";
    uint32_t max_stacks = 8192;
    uint64_t live_memory_mib = kDefaultLiveMemoryBytes >> 20;
    uint32_t max_live = 0;
    uint32_t live_prealloc = 0;
    std::vector<std::string> command;
};

// Writes the report and closes the file, so a full disk is an error, not a short file.
Result<void> finish_output(UniqueFd& fd, const std::string& path, const std::string& text) {
    if (auto w = write_all(fd.get(), path, text); !w) return w;
    if (::close(fd.release()) != 0) return fail_errno("close " + path, errno);
    return {};
}

int run_trace(const TraceOptions& o) {
    if (!o.leaks) {
        std::fprintf(stderr, "perfbpf: trace: say what to trace (--leaks)\n");
        return 2;
    }
    // Opened before tracing: a bad path fails now, not after a long trace is lost.
    UniqueFd output, folded;
    for (auto [path, fd] : {std::pair{&o.output, &output}, std::pair{&o.folded, &folded}}) {
        if (path->empty()) continue;
        auto f = create_output_file(*path);
        if (!f) {
            std::fprintf(stderr, "perfbpf: %s\n", f.error().message.c_str());
            return 1;
        }
        *fd = std::move(*f);
    }
    install_stop_handlers();
    LeaksTraceOptions t;
    t.pid = o.pid;
    t.command = o.command;
    t.kernel = o.kernel;
    t.mode = o.mode.empty() ? (o.kernel            ? "kernel"
                               : o.command.empty() ? "growth"
                                                   : "exact")
                            : o.mode;
    t.interval_ns = static_cast<uint64_t>(std::llround(o.interval_s * 1e9));
    t.duration_ns = static_cast<uint64_t>(std::llround(o.duration_s * 1e9));
    t.min_age_ns = static_cast<uint64_t>(std::llround(o.min_age_s * 1e9));
    if (o.sample_bytes) t.sample_bytes = o.sample_bytes;
    t.growth_sample_bytes = o.sample_bytes;
    t.seed = o.seed;
    t.allocator_lib = o.allocator_lib;
    t.inject = o.inject;
    t.max_stacks = o.max_stacks;
    t.live_memory_bytes = o.live_memory_mib << 20;
    t.max_live = o.max_live;
    t.live_prealloc = o.live_prealloc;

    const bool live = !o.json && o.output.empty() && ::isatty(STDOUT_FILENO);
    LeaksIntervalFn on_interval;
    if (live) {
        on_interval = [&](const LeakReport& r) {
            std::cout << "\033[H\033[2J" << leaks_text(r, o.top, false) << std::flush;
        };
    }
    auto report = run_leaks_trace(t, stop_requested(), on_interval);
    if (!report) {
        std::fprintf(stderr, "perfbpf: %s\n", report.error().message.c_str());
        return 1;
    }
    if (folded.valid()) {
        if (auto w = finish_output(folded, o.folded, leaks_folded(*report)); !w) {
            std::fprintf(stderr, "perfbpf: %s\n", w.error().message.c_str());
            return 1;
        }
    }
    std::string text = o.json ? leaks_json_text(*report) : leaks_text(*report, o.top, true);
    if (o.json) text += '\n';
    if (output.valid()) {
        if (auto w = finish_output(output, o.output, text); !w) {
            std::fprintf(stderr, "perfbpf: %s\n", w.error().message.c_str());
            return 1;
        }
        return 0;
    }
    std::cout << (live ? "\033[H\033[2J" : "") << text << std::flush;
    return 0;
}

}  // namespace

void add_trace(CLI::App& app) {
    auto o = std::make_shared<TraceOptions>();
    auto* cmd = app.add_subcommand(
        "trace",
        "Trace one thing in depth. --leaks: allocations with stacks, file:line and growth\n"
        "trends, for a command perfbpf starts (-- CMD ARGS, default mode exact) or a running\n"
        "process (-p PID, default mode growth). Ctrl-C, --duration or the target's exit\n"
        "ends the trace and prints the report.");
    cmd->add_flag("--leaks", o->leaks, "Trace memory allocations and leaks");
    cmd->add_option("-p,--pid", o->pid, "Trace this running process")
        ->type_name("PID")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--mode", o->mode,
                    "exact: every allocation and free; sampled: allocations sampled by bytes "
                    "(-- CMD only, ~1.1x); growth: RSS and the stacks that grow the heap, no "
                    "allocator probes (safe on production)")
        ->type_name("MODE")
        ->check(CLI::IsMember({"exact", "sampled", "growth"}));
    cmd->add_flag("--kernel", o->kernel,
                  "Kernel allocations (kmalloc, kmem_cache, pages) with kernel stacks, "
                  "system-wide or for -p PID");
    cmd->add_option("-i,--interval", o->interval_s, "Seconds between samples of the trend")
        ->type_name("SECONDS")
        ->check(finite_number())
        ->check(CLI::Range(0.05, 3600.0))
        ->default_val(1.0);
    cmd->add_option("-d,--duration", o->duration_s, "Stop after this many seconds (0: never)")
        ->type_name("SECONDS")
        ->check(finite_number())
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--top", o->top, "Stacks shown in the text report (default 10)")
        ->type_name("N")
        ->default_val(10);
    cmd->add_option("--min-age", o->min_age_s,
                    "Count only allocations at least this many seconds old as outstanding")
        ->type_name("SECONDS")
        ->check(finite_number())
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--sample-bytes", o->sample_bytes,
                    "Mean bytes between samples, 1 to 2^40: sampled mode's allocations "
                    "(default 524288), growth mode's stacks (default 65536)")
        ->type_name("BYTES")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
    cmd->add_option("--seed", o->seed, "Sampled mode: fixed seed for reproducible sampling")
        ->type_name("N");
    cmd->add_flag("--json", o->json, "Print the final report as JSON");
    cmd->add_option("-o,--output", o->output,
                    "Write the final report to this file instead of standard output (which the "
                    "traced command shares)")
        ->type_name("FILE");
    cmd->add_option("--folded", o->folded,
                    "Write outstanding bytes as folded stacks (flamegraph.pl, speedscope)")
        ->type_name("FILE");
    cmd->add_option("--allocator-lib", o->allocator_lib,
                    "With -p: the library or static binary that defines malloc and free")
        ->type_name("FILE");
    cmd->add_option("--inject", o->inject,
                    "With --mode exact -p: load perfbpf's interposition library into the process "
                    "(ptrace, dlopen; ~6x on malloc-bound code) instead of uprobes in its libc "
                    "(60-150x). auto: inject, else uprobes; always: fail when it cannot; never: "
                    "uprobes")
        ->type_name("WHEN")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->default_val("auto");
    cmd->add_option("--max-stacks", o->max_stacks,
                    "Distinct stacks tracked, 64 to 2^20 (default 8192)")
        ->type_name("N")
        ->check(CLI::Range(64u, 1u << 20));
    cmd->add_option("--live-memory", o->live_memory_mib,
                    "MiB the kernel may use to track outstanding allocations, taken as needed "
                    "(default 256: 2097152 allocations at 128 B each); allocations past it are "
                    "reported as untracked, outstanding bytes then being a lower bound")
        ->type_name("MIB")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 17));
    cmd->add_option("--max-live", o->max_live,
                    "Outstanding allocations tracked at once, instead of what --live-memory "
                    "allows; more are reported as untracked")
        ->type_name("N")
        ->check(CLI::Range(1024u, 1u << 26));
    cmd->add_option("--live-prealloc", o->live_prealloc,
                    "Of those, entries allocated when the trace starts (≈104 B of kernel memory "
                    "each, held while tracing); the rest are allocated as needed, at about three "
                    "times the cost per allocation traced (default in exact mode: all of them when "
                    "they take at most 1/16 of the memory available, at least 262144; in "
                    "sampled mode 262144)")
        ->type_name("N")
        ->check(CLI::Range(1024u, 1u << 26));
    cmd->add_option("command", o->command, "-- CMD ARGS...: the program to start and trace")
        ->type_name("CMD");
    cmd->footer(
        "Examples:\n"
        "  sudo perfbpf trace --leaks -- ./server --port 8080    exact, from the start\n"
        "  sudo perfbpf trace --leaks -p 812 -d 60               growth of a running process\n"
        "  sudo perfbpf trace --leaks --mode sampled -- ./batch  sampled, ~1.1x\n"
        "  sudo perfbpf trace --leaks --kernel -d 30             kernel allocations");
    cmd->callback([o] { exit_status() = run_trace(*o); });
}

}  // namespace perfbpf::cli
