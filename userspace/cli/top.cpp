// `perfbpf top`: live view of processes, cgroups and devices with bottleneck verdicts.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/signals.h"
#include "collect/collector.h"
#include "config/config.h"
#include "detect/verdict.h"
#include "sinks/json_sink.h"
#include "sinks/snapshot_record.h"
#include "sinks/text_sink.h"

namespace perfbpf::cli {
namespace {

struct TopOptions {
    std::optional<double> interval_s;
    bool once = false;
    bool json = false;
    bool plain = false;
    int pid = 0;
    std::string cgroup;
    int iterations = 0;  // 0: until stopped
    size_t rows = 30;
    std::string config_path;
    std::string record_path;
    std::string replay_path;
};

// Verdicts look at the last few intervals so one noisy second does not flip them.
constexpr size_t kVerdictWindow = 5;

void warn_unavailable(const std::vector<ProbeStatus>& status) {
    for (const auto& s : status)
        if (!s.attached) spdlog::warn("{} {} unavailable: {}", s.family, s.probe, s.reason);
}

// Renders each snapshot from `next` until it returns nothing, the iteration count is
// reached or a stop is requested.
int render_loop(const TopOptions& o, const Thresholds& thresholds,
                const std::function<std::optional<Snapshot>()>& next, Recorder* recorder) {
    std::deque<Snapshot> window;
    const auto& stop = stop_requested();
    for (int i = 0; o.iterations == 0 || i < o.iterations; ++i) {
        std::optional<Snapshot> snap = next();
        if (!snap) break;
        if (recorder) {
            if (auto r = recorder->append(*snap); !r) {
                std::fprintf(stderr, "perfbpf: %s\n", r.error().message.c_str());
                return 1;
            }
        }
        window.push_back(std::move(*snap));
        if (window.size() > kVerdictWindow) window.pop_front();
        std::vector<Snapshot> w(window.begin(), window.end());
        auto verdicts = assess(w, thresholds);
        const Snapshot& s = window.back();
        if (o.json)
            std::cout << snapshot_json(s, verdicts).dump(o.once ? 2 : -1) << std::endl;
        else
            std::cout << render_text(s, verdicts, o.rows) << std::endl;
        if (o.once || stop.load()) break;
    }
    return 0;
}

int run_top(const TopOptions& o) {
    install_stop_handlers();
    auto config = load_config(o.config_path);
    if (!config) {
        std::fprintf(stderr, "perfbpf: %s\n", config.error().message.c_str());
        return 2;
    }
    SnapshotFilter filter;
    if (o.pid) filter.pid = o.pid;
    if (!o.cgroup.empty()) filter.cgroup = o.cgroup;

    if (!o.replay_path.empty()) {
        auto recorded = read_recording(o.replay_path);
        if (!recorded) {
            std::fprintf(stderr, "perfbpf: %s\n", recorded.error().message.c_str());
            return 1;
        }
        size_t i = 0;
        return render_loop(
            o, config->thresholds,
            [&]() -> std::optional<Snapshot> {
                if (i >= recorded->size()) return std::nullopt;
                Snapshot s = (*recorded)[i++];
                apply_filter(s, filter);
                return s;
            },
            nullptr);
    }

    CollectorOptions co;
    const double interval_s = o.interval_s.value_or(config->interval_s);
    co.interval_ns = static_cast<uint64_t>(std::llround(interval_s * 1e9));
    co.probes.interval_ns = co.interval_ns;
    co.probes.sample_hz = config->sample_hz;
    co.command = "top";
    co.filter = filter;
    std::optional<Recorder> recorder;
    if (!o.record_path.empty()) {
        auto r = Recorder::open(o.record_path);
        if (!r) {
            std::fprintf(stderr, "perfbpf: %s\n", r.error().message.c_str());
            return 1;
        }
        recorder = std::move(*r);
    }
    auto collector = Collector::create(co);
    if (!collector) {
        std::fprintf(stderr, "perfbpf: %s\n", collector.error().message.c_str());
        return 1;
    }
    warn_unavailable((*collector)->probe_status());
    return render_loop(
        o, config->thresholds,
        [&]() -> std::optional<Snapshot> { return (*collector)->next(&stop_requested()); },
        recorder ? &*recorder : nullptr);
}

}  // namespace

void add_top(CLI::App& app) {
    auto opts = std::make_shared<TopOptions>();
    auto* cmd = app.add_subcommand(
        "top",
        "Live view of processes, cgroups and devices with verdicts on what the bottleneck is.\n"
        "Without a terminal it prints plain text every interval; --once --json prints one\n"
        "interval as JSON for scripts (fields documented in the README).");
    cmd->add_option("-i,--interval", opts->interval_s,
                    "Seconds per refresh, 0.1 to 3600, fractions allowed (default 1, or [top] "
                    "interval in the config)")
        ->check(CLI::Range(0.1, 3600.0));
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
    cmd->add_option(
        "--config", opts->config_path,
        std::string("TOML configuration (default ") + kDefaultConfigPath + " when it exists)");
    cmd->add_option("--record", opts->record_path,
                    "Append every interval's snapshot to FILE as JSON lines");
    cmd->add_option("--replay", opts->replay_path,
                    "Show a recording made with --record instead of the live system (no root)")
        ->excludes("--record");
    cmd->callback([opts] { exit_status() = run_top(*opts); });
}

}  // namespace perfbpf::cli
