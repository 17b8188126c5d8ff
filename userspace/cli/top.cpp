// `perfbpf top`: live view of processes, cgroups and devices with bottleneck verdicts.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <deque>
#include <iostream>

#include "cli/commands.h"
#include "cli/signals.h"
#include "collect/collector.h"
#include "detect/verdict.h"
#include "sinks/json_sink.h"
#include "sinks/text_sink.h"

namespace perfbpf::cli {
namespace {

struct TopOptions {
    double interval_s = 1.0;
    bool once = false;
    bool json = false;
    bool plain = false;
    int pid = 0;
    std::string cgroup;
    int iterations = 0;  // 0: until stopped
    size_t rows = 30;
};

// Verdicts look at the last few intervals so one noisy second does not flip them.
constexpr size_t kVerdictWindow = 5;

void warn_unavailable(const std::vector<ProbeStatus>& status) {
    for (const auto& s : status)
        if (!s.attached) spdlog::warn("{} {} unavailable: {}", s.family, s.probe, s.reason);
}

int run_top(const TopOptions& o) {
    install_stop_handlers();
    CollectorOptions co;
    co.interval_ns = static_cast<uint64_t>(std::llround(o.interval_s * 1e9));
    co.probes.interval_ns = co.interval_ns;
    co.command = "top";
    if (o.pid) co.filter.pid = o.pid;
    if (!o.cgroup.empty()) co.filter.cgroup = o.cgroup;
    auto collector = Collector::create(co);
    if (!collector) {
        std::fprintf(stderr, "perfbpf: %s\n", collector.error().message.c_str());
        return 1;
    }
    warn_unavailable((*collector)->probe_status());
    Thresholds thresholds;
    std::deque<Snapshot> window;
    const auto& stop = stop_requested();
    for (int i = 0; o.iterations == 0 || i < o.iterations; ++i) {
        Snapshot snap = (*collector)->next(&stop);
        window.push_back(std::move(snap));
        if (window.size() > kVerdictWindow) window.pop_front();
        std::vector<Snapshot> w(window.begin(), window.end());
        auto verdicts = assess(w, thresholds);
        const Snapshot& s = window.back();
        if (o.json) {
            std::cout << snapshot_json(s, verdicts).dump(o.once ? 2 : -1) << std::endl;
        } else {
            std::cout << render_text(s, verdicts, o.rows) << std::endl;
        }
        if (o.once || stop.load()) break;
    }
    return 0;
}

}  // namespace

void add_top(CLI::App& app) {
    auto opts = std::make_shared<TopOptions>();
    auto* cmd = app.add_subcommand(
        "top",
        "Live view of processes, cgroups and devices with verdicts on what the bottleneck is.\n"
        "Keys in the full-screen view: q quit, ? help. Without a terminal it prints plain\n"
        "text every interval; --once --json prints one interval as JSON for scripts.");
    cmd->add_option("-i,--interval", opts->interval_s,
                    "Seconds per refresh (0.1 to 3600, fractions allowed)")
        ->check(CLI::Range(0.1, 3600.0))
        ->default_val(1.0);
    cmd->add_flag("--once", opts->once, "Print one interval and exit");
    cmd->add_flag("--json", opts->json,
                  "JSON output (one object per interval, one per line unless --once)");
    cmd->add_flag("--plain", opts->plain, "Plain text even on a terminal");
    cmd->add_option("-p,--pid", opts->pid, "Show only this process (thread-group id)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("-c,--cgroup", opts->cgroup,
                    "Show only processes in this cgroup path or below (e.g. /system.slice)");
    cmd->add_option("-n,--iterations", opts->iterations,
                    "Stop after N intervals (0: run until stopped)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--rows", opts->rows, "Processes shown per interval in text mode")
        ->check(CLI::PositiveNumber);
    cmd->callback([opts] { exit_status() = run_top(*opts); });
}

}  // namespace perfbpf::cli
