// `perfbpf query`: series from the daemon's history (wiring only; selection and
// aggregation are in store/, formatting in sinks/history_sink.cpp).
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/history_cli.h"
#include "model/selector.h"
#include "sinks/history_sink.h"
#include "store/history.h"

namespace perfbpf::cli {
namespace {

struct Options {
    std::string selector;
    std::string since = "1h";
    std::string until = "now";
    std::string step;
    std::string state_dir;
    std::string config_path;
    bool json = false;
    bool csv = false;
};

int run_query(const Options& o) {
    auto selector = parse_selector(o.selector);
    if (!selector) return usage_error(selector.error().message);
    const int64_t now = now_unix_ms();
    auto from = since_ms(o.since, now);
    if (!from) return usage_error("--since: " + from.error().message);
    auto to = parse_time_ms(o.until, now);
    if (!to) return usage_error("--until: " + to.error().message);
    if (*from > *to) return usage_error("--since is after --until");
    int64_t step = 0;
    if (!o.step.empty()) {
        auto s = parse_duration_ms(o.step);
        if (!s) return usage_error("--step: " + s.error().message);
        step = *s;
    }
    int status = 0;
    auto history = open_history_for_reading(o.state_dir, o.config_path, status);
    if (!history) return status;
    auto series = history->query(*selector, *from, *to, step);
    if (!series) {
        std::fprintf(stderr, "perfbpf: %s\n", series.error().message.c_str());
        return 1;
    }
    QueryRange range{*from, *to, step};
    if (o.json)
        std::cout << query_json(*series, range).dump(2) << "\n";
    else if (o.csv)
        std::cout << query_csv(*series);
    else
        std::cout << render_query(*series, range);
    return 0;
}

}  // namespace

void add_query(CLI::App& app) {
    auto o = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand("query", "Read series from the daemon's history");
    cmd->footer(
        "SELECTOR names a metric as top --json names the field, with labels for its object:\n"
        "pid, start, comm, cgroup (processes), cgroup, device, cpu, netns, device and\n"
        "mountpoint (filesystems). Matchers: =, !=,\n"
        "=~ and !~ (regular expressions matching the whole value). Points come from the\n"
        "tier that fits --step (raw below 1m, the minute tier below 1h, else the hour\n"
        "tier); per step a counter is summed, a gauge averaged, a level's last value kept,\n"
        "and a histogram's slots merged (its value is the p99 of the merged slots, in us).\n\n"
        "Examples:\n"
        "  perfbpf query cpu_busy_pct --since 2h\n"
        "  perfbpf query 'runq_lat_p99_us{comm=\"postgres\"}' --since 1d --step 5m\n"
        "  perfbpf query 'read_bytes{device=~\"nvme.*\"}' --since 2026-12-05T03:00:00Z \\\n"
        "      --until 2026-12-05T04:00:00Z --csv\n\n"
        "Exit status: 0 printed (possibly no series), 1 no history or it cannot be read,\n"
        "2 bad selector, time or option.");
    cmd->add_option("selector", o->selector, "metric{label=\"value\",...}")->required();
    cmd->add_option("--since", o->since,
                    "Start: a duration back from now (2h, 7d) or a time (default 1h)")
        ->type_name("WHEN");
    cmd->add_option("--until", o->until,
                    "End: now (default), RFC 3339 (2026-12-05T03:12:00Z), unix seconds, or -2h")
        ->type_name("WHEN");
    cmd->add_option("--step", o->step, "Aggregate per step (1m, 1h); default: every raw point")
        ->type_name("DURATION");
    cmd->add_option("--state-dir", o->state_dir,
                    "The daemon's state dir (default from the config, /var/lib/perfbpf)")
        ->type_name("DIR");
    cmd->add_option("--config", o->config_path, "TOML config naming the state dir")
        ->type_name("FILE");
    auto json = cmd->add_flag("--json", o->json, "Print JSON");
    cmd->add_flag("--csv", o->csv, "Print CSV: time, series, value")->excludes(json);
    cmd->callback([o] { exit_status() = run_query(*o); });
}

}  // namespace perfbpf::cli
