// `perfbpf top`: live view of processes, cgroups and devices with bottleneck verdicts.
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>

#include "cli/commands.h"
#include "cli/finite.h"
#include "cli/history_cli.h"
#include "cli/signals.h"
#include "collect/collector.h"
#include "collect/parse/filter_targets.h"
#include "collect/process_actions.h"
#include "collect/thread_reader.h"
#include "config/config.h"
#include "detect/verdict.h"
#include "detect/verdict_window.h"
#include "model/selector.h"
#include "sinks/json_sink.h"
#include "sinks/seekable_source.h"
#include "sinks/snapshot_record.h"
#include "sinks/text_sink.h"
#include "sinks/tui.h"
#include "store/history_snapshots.h"

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
    std::string view;  // --view: processes cgroups devices cpus ("" both processes, devices)
    std::string sort;  // --sort: a column of that view
    TextView text;     // the two above, checked
    std::string config_path;
    std::string record_path;
    std::string replay_path;
    bool history = false;
    std::string at;            // --history: start here
    std::string since = "1h";  // --history: or from this far back
    std::string state_dir;
};

void warn_unavailable(const std::vector<ProbeStatus>& status) {
    for (const auto& s : status)
        if (!s.attached && !s.skipped)
            spdlog::warn("{} {} unavailable: {}", s.family, s.probe, s.reason);
}

// The live collector or a recording; `stop` (may be null) ends a live interval early.
using NextSnapshot = std::function<std::optional<Snapshot>(const std::atomic<bool>* stop)>;

// Appends a snapshot to a recording (JSON lines or the history format).
using RecordSnapshot = std::function<Result<void>(const Snapshot&)>;

// The daemon's alerts at a snapshot's time.
using AlertsAt = std::function<FiringAlerts(const Snapshot&)>;

// Each snapshot with verdicts over the recent window and the daemon's alerts; appends it to
// the recording first.
class Intervals {
  public:
    Intervals(NextSnapshot next, const Thresholds& t, RecordSnapshot record = {},
              AlertsAt alerts = {})
        : next_(std::move(next)),
          window_(t),
          record_(std::move(record)),
          alerts_(std::move(alerts)) {}

    // nullopt: no more snapshots.
    Result<std::optional<TopUpdate>> next(const std::atomic<bool>* stop) {
        std::optional<Snapshot> snap = next_(stop);
        if (!snap) return std::optional<TopUpdate>();
        if (record_) {
            if (auto r = record_(*snap); !r) return std::unexpected(r.error());
        }
        std::vector<Verdict> verdicts = window_.push(*snap);
        FiringAlerts alerts = alerts_ ? alerts_(*snap) : FiringAlerts{};
        return std::optional<TopUpdate>(
            TopUpdate{std::move(*snap), std::move(verdicts), std::move(alerts)});
    }

  private:
    NextSnapshot next_;
    VerdictWindow window_;
    RecordSnapshot record_;
    AlertsAt alerts_;
};

// Prints each interval as text or JSON until the source ends, the iteration count is
// reached or a stop is requested.
int print_loop(const TopOptions& o, Intervals& intervals) {
    const auto& stop = stop_requested();
    for (int i = 0; o.iterations == 0 || i < o.iterations; ++i) {
        auto u = intervals.next(&stop);
        if (!u) {
            std::fprintf(stderr, "perfbpf: %s\n", u.error().message.c_str());
            return 1;
        }
        if (!*u) break;
        const TopUpdate& t = **u;
        if (o.json)
            std::cout << snapshot_json(t.snapshot, t.verdicts).dump(o.once ? 2 : -1) << std::endl;
        else
            std::cout << render_text(t.snapshot, t.verdicts, o.text, t.alerts) << std::endl;
        if (o.once || stop.load()) break;
    }
    return 0;
}

// Logs go to stderr, the same terminal the full-screen view draws on: while it is up they
// are held, and printed once the terminal is restored.
class HeldLogs {
  public:
    HeldLogs() : held_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)) {
        held_->set_pattern("perfbpf: %l: %v");
        auto& sinks = spdlog::default_logger()->sinks();
        saved_ = sinks;
        sinks = {held_};
    }
    HeldLogs(const HeldLogs&) = delete;
    HeldLogs& operator=(const HeldLogs&) = delete;
    ~HeldLogs() {
        spdlog::default_logger()->sinks() = saved_;
        for (const auto& line : held_->last_formatted()) std::fputs(line.c_str(), stderr);
    }

  private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> held_;
    std::vector<spdlog::sink_ptr> saved_;
};

// Full screen when a person is watching; plain text or JSON for pipes, logs and scripts.
bool wants_full_screen(const TopOptions& o) {
    return !o.json && !o.plain && !o.once && tui_possible(STDIN_FILENO, STDOUT_FILENO);
}

// Runs a full-screen view; false (after a warning) when this terminal cannot host it.
// A failure to record or read ends the view and reaches main() as an exception, after
// the terminal is restored.
bool on_full_screen(const TopOptions& o,
                    const std::function<Result<void>(const TuiOptions&)>& show) {
    Result<void> shown;
    {
        HeldLogs held;
        TuiOptions to;
        to.stop = &stop_requested();
        to.iterations = o.iterations;
        shown = show(to);
    }
    if (!shown) spdlog::warn("{}; printing plain text instead", shown.error().message);
    return shown.has_value();
}

bool run_full_screen(const TopOptions& o, Intervals& intervals) {
    return on_full_screen(o, [&](TuiOptions to) {
        to.act = [](const TopAction& a) { return carry_out_top_action(a); };
        to.threads = [reader = std::make_shared<ThreadReader>()](int pid) {
            return reader->read(pid);
        };
        // Runs on the view's collecting thread. `interrupted` is the view's own flag, set
        // when it closes: a half-collected interval is recorded but not shown.
        return run_tui(
            [&](const std::atomic<bool>& interrupted) -> std::optional<TopUpdate> {
                auto u = intervals.next(&interrupted);
                if (!u) throw std::runtime_error(u.error().message);
                if (interrupted.load()) return std::nullopt;
                return std::move(*u);
            },
            to);
    });
}

// A recording on screen: played at its pace, and moved through with the time keys.
bool replay_full_screen(const TopOptions& o, const std::vector<Snapshot>& recorded,
                        const Thresholds& t) {
    SeekableSource source = seekable_snapshots([&] { return recorded.size(); },
                                               [&](size_t i) { return recorded[i]; }, t, "REPLAY");
    source.time_ms = [&](size_t i) { return recorded[i].end_unix_ms; };  // no copy to page
    return on_full_screen(o, [&](const TuiOptions& to) { return run_tui_seekable(source, to); });
}

// Past snapshots from a history (the daemon's, or a recording in its format) on the seekable
// screen, or printed as text or JSON interval by interval.
int show_history(const TopOptions& o, const Config& config, const SnapshotFilter& filter,
                 bool full_screen, HistorySnapshots& past, const std::string& marker) {
    auto snapshot_at = [&](size_t i) {
        Snapshot s = past.at(i);
        apply_filter(s, filter);
        return s;
    };
    if (full_screen) {
        SeekableSource source =
            seekable_snapshots([&] { return past.size(); }, snapshot_at, config.thresholds, marker,
                               [&](size_t i) { return past.alerts_at(i); });
        source.time_ms = [&](size_t i) { return past.time_ms(i); };
        if (on_full_screen(o, [&](const TuiOptions& to) { return run_tui_seekable(source, to); }))
            return 0;
    }
    size_t i = 0;
    auto next = [&](const std::atomic<bool>*) -> std::optional<Snapshot> {
        if (i >= past.size()) return std::nullopt;
        return snapshot_at(i++);
    };
    Intervals intervals(next, config.thresholds, {}, [&](const Snapshot& s) {
        return past.alerts_at(past.index_at(s.end_unix_ms));
    });
    return print_loop(o, intervals);
}

// Opens the history in `dir` for [from, to]; prints why not and returns nullopt.
std::optional<HistorySnapshots> open_past(const std::string& dir, int64_t from, int64_t to) {
    auto history = History::open_existing(dir);
    if (!history) {
        std::fprintf(stderr, "perfbpf: %s\n", history.error().message.c_str());
        return std::nullopt;
    }
    auto past = HistorySnapshots::open(std::move(*history), from, to);
    if (!past) {
        std::fprintf(stderr, "perfbpf: %s: %s\n", dir.c_str(), past.error().message.c_str());
        return std::nullopt;
    }
    return std::move(*past);
}

// `top --history`: the daemon's past, from --at or --since up to now (HISTORY marker).
int run_history(const TopOptions& o, const Config& config, const SnapshotFilter& filter,
                bool full_screen) {
    const int64_t now = now_unix_ms();
    auto from = o.at.empty() ? since_ms(o.since, now) : parse_time_ms(o.at, now);
    if (!from) return usage_error((o.at.empty() ? "--since: " : "--at: ") + from.error().message);
    auto past = open_past(o.state_dir.empty() ? config.state_dir : o.state_dir, *from, now);
    if (!past) return 1;
    return show_history(o, config, filter, full_screen, *past, "HISTORY");
}

// The recording `top --record` writes: the history format in a directory, or JSON lines
// when the name ends in .jsonl or .json (for scripts).
Result<RecordSnapshot> open_recording(const std::string& path) {
    if (path.ends_with(".jsonl") || path.ends_with(".json")) {
        auto r = Recorder::open(path);
        if (!r) return std::unexpected(r.error());
        auto rec = std::make_shared<Recorder>(std::move(*r));
        return RecordSnapshot([rec](const Snapshot& s) { return rec->append(s); });
    }
    auto r = HistoryRecorder::open(path);
    if (!r) return std::unexpected(r.error());
    auto rec = std::make_shared<HistoryRecorder>(std::move(*r));
    return RecordSnapshot([rec](const Snapshot& s) { return rec->append(s); });
}

// --view and --sort, checked: an unknown column names the ones the view has.
Result<TextView> text_view(const TopOptions& o) {
    TextView v;
    v.max_rows = o.rows;
    if (!o.view.empty()) v.view = parse_top_view(o.view);  // CLI11 checked the name
    if (o.sort.empty()) return v;
    const TopView in = v.view.value_or(TopView::processes);
    v.sort = top_sort_by(in, o.sort);
    if (!v.sort) {
        std::string ids;
        for (const auto& id : top_column_ids(in)) ids += (ids.empty() ? "" : " ") + id;
        return fail("--sort " + o.sort + ": the " + top_view_name(in) +
                    " view has no such column; its columns: " + ids);
    }
    return v;
}

int run_top(TopOptions o) {
    install_stop_handlers();
    auto text = text_view(o);
    if (!text) return usage_error(text.error().message);
    o.text = *text;
    auto config = load_config(o.config_path);
    if (!config) {
        std::fprintf(stderr, "perfbpf: %s\n", config.error().message.c_str());
        return 2;
    }
    SnapshotFilter filter;
    if (o.pid) filter.pid = o.pid;
    if (!o.cgroup.empty()) filter.cgroup = o.cgroup;
    const bool full_screen = wants_full_screen(o);

    if (o.history) return run_history(o, *config, filter, full_screen);
    if (!o.replay_path.empty() && is_history_recording(o.replay_path)) {
        auto past =
            open_past(history_recording_dir(o.replay_path), 0, std::numeric_limits<int64_t>::max());
        if (!past) return 1;
        return show_history(o, *config, filter, full_screen, *past, "REPLAY");
    }
    if (!o.replay_path.empty()) {
        auto recorded = read_recording(o.replay_path);
        if (!recorded) {
            std::fprintf(stderr, "perfbpf: %s\n", recorded.error().message.c_str());
            return 1;
        }
        for (Snapshot& s : *recorded) apply_filter(s, filter);
        if (full_screen && replay_full_screen(o, *recorded, config->thresholds)) return 0;
        size_t i = 0;
        auto next = [&](const std::atomic<bool>*) -> std::optional<Snapshot> {
            if (i >= recorded->size()) return std::nullopt;
            return (*recorded)[i++];
        };
        Intervals intervals(next, config->thresholds);
        return print_loop(o, intervals);
    }

    if (auto targets = check_filter_targets(filter); !targets) {
        std::fprintf(stderr, "perfbpf: top: %s\n", targets.error().message.c_str());
        return 2;
    }
    CollectorOptions co;
    const double interval_s = o.interval_s.value_or(config->interval_s);
    co.interval_ns = static_cast<uint64_t>(std::llround(interval_s * 1e9));
    co.probes.sample_hz = config->sample_hz;
    co.command = "top";
    co.filter = filter;
    RecordSnapshot record;
    if (!o.record_path.empty()) {
        auto r = open_recording(o.record_path);
        if (!r) {
            std::fprintf(stderr, "perfbpf: %s\n", r.error().message.c_str());
            return 1;
        }
        record = std::move(*r);
    }
    auto collector = Collector::create(co);
    if (!collector) {
        std::fprintf(stderr, "perfbpf: %s\n", collector.error().message.c_str());
        return 1;
    }
    warn_unavailable((*collector)->probe_status());
    // A daemon on this host (its state dir) pages about it: its firing alerts go in the header.
    const std::string state_dir = o.state_dir.empty() ? config->state_dir : o.state_dir;
    Intervals intervals(
        [&](const std::atomic<bool>* stop) -> std::optional<Snapshot> {
            return (*collector)->next(stop);
        },
        config->thresholds, record,
        [&](const Snapshot&) { return daemon_firing_alerts(state_dir, now_unix_ms()); });
    if (full_screen && run_full_screen(o, intervals)) return 0;
    return print_loop(o, intervals);
}

}  // namespace

void add_top(CLI::App& app) {
    auto opts = std::make_shared<TopOptions>();
    auto* cmd = app.add_subcommand(
        "top",
        "Live view of processes, cgroups and devices with verdicts on what the bottleneck is.\n"
        "On a terminal it is full screen, refreshed every interval, with keys as in top(1):\n"
        "q quit, P M Q I T sort by CPU, RSS, run-queue p99, disk, network bytes, < > move\n"
        "the sort column, R reverse, Tab c d 1 views (cgroups, devices, CPUs), / filter,\n"
        "p pause (collection goes on), ? all keys. Without a terminal, or with --plain, it\n"
        "prints plain text every interval; --once --json prints one interval as JSON for\n"
        "scripts (fields documented in the README).");
    cmd->add_option("-i,--interval", opts->interval_s,
                    "Seconds per refresh, 0.1 to 3600, fractions allowed (default 1, or [top] "
                    "interval in the config)")
        ->type_name("SECONDS")
        ->check(finite_number())
        ->check(CLI::Range(0.1, 3600.0));
    cmd->add_flag("--once", opts->once, "Print one interval and exit");
    cmd->add_flag("--json", opts->json,
                  "JSON output (one object per interval, one per line unless --once)");
    cmd->add_flag("--plain", opts->plain, "Plain text every interval even on a terminal");
    cmd->add_option("-p,--pid", opts->pid, "Show only this process (thread-group id)")
        ->type_name("PID")
        ->check(CLI::PositiveNumber);
    cmd->add_option("-c,--cgroup", opts->cgroup,
                    "Show only processes in this cgroup path or below (e.g. /system.slice)")
        ->type_name("PATH");
    cmd->add_option("-n,--iterations", opts->iterations,
                    "Stop after N intervals, in any mode (0: run until stopped)")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--rows", opts->rows, "Rows shown per interval in plain text")
        ->type_name("N")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--view", opts->view,
                    "Plain text: only this table, every interval (processes, cgroups, devices, "
                    "cpus; default the processes, then the devices that did I/O)")
        ->type_name("VIEW")
        ->check([](const std::string& v) {
            auto view = kTopViewNames.parse(v);
            return view ? std::string() : view.error().message;
        });
    cmd->add_option("--sort", opts->sort,
                    "Plain text: sort the table by this column, by id or title (cpu, rss, "
                    "runq, read, iolat, tx, retrans; util, p99 for devices), high first")
        ->type_name("COLUMN");
    cmd->add_option(
           "--config", opts->config_path,
           std::string("TOML configuration (default ") + kDefaultConfigPath + " when it exists)")
        ->type_name("FILE");
    cmd->add_option("--record", opts->record_path,
                    "Record every interval into DIR in the compact history format (replay it "
                    "with --replay DIR), or into FILE.jsonl as JSON lines")
        ->type_name("FILE");
    cmd->add_option("--replay", opts->replay_path,
                    "Show a recording made with --record instead of the live system (no root; "
                    "not with --record); on a terminal it plays at its pace, Left/Right step, "
                    "PgUp/PgDn a minute, Home/End, Space pause")
        ->type_name("FILE")
        ->excludes("--record");
    auto history = cmd->add_flag(
        "--history", opts->history,
        "Show the daemon's history instead of the live system (HISTORY marker; the replay "
        "keys move through time), from --since or --at up to now");
    cmd->add_option("--since", opts->since,
                    "With --history: start this far back (2h, 1d) or at this time (default 1h)")
        ->type_name("WHEN")
        ->needs(history);
    cmd->add_option("--at", opts->at,
                    "With --history: start at this time (2026-12-05T03:12:00Z, 03:12 local as "
                    "'2026-12-05 03:12:00', unix seconds, -2h)")
        ->type_name("TIME")
        ->needs(history);
    cmd->add_option("--state-dir", opts->state_dir,
                    "The daemon's state dir (default from the config): --history reads its "
                    "history; live, the alerts a running daemon has firing are shown in the "
                    "header")
        ->type_name("DIR");
    history->excludes("--record")->excludes("--replay");
    cmd->footer(
        "Examples:\n"
        "  sudo perfbpf top                          full screen on a terminal\n"
        "  sudo perfbpf top --once --json            one interval as JSON\n"
        "  sudo perfbpf top --interval 0.25 --pid 812\n"
        "  sudo perfbpf top --cgroup /system.slice --record run.jsonl\n"
        "  perfbpf top --replay run.jsonl            a recording again (no root)\n"
        "  sudo perfbpf top --plain --view devices --sort util   an iostat-like stream\n"
        "  sudo perfbpf top --plain --sort rss --rows 10         a pidstat-like stream");
    cmd->callback([opts] { exit_status() = run_top(*opts); });
}

}  // namespace perfbpf::cli
