// `perfbpf forecast`: forecasts of series from the daemon's history (wiring only; the
// method is detect/forecast.cpp, the limits detect/forecast_limits.cpp, reading the
// history store/forecast_series.cpp, the output sinks/history_forecast.cpp).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/history_cli.h"
#include "detect/forecast_limits.h"
#include "model/selector.h"
#include "model/series_extract.h"
#include "sinks/history_forecast.h"
#include "store/forecast_series.h"

namespace perfbpf::cli {
namespace {

struct Options {
    std::string selector;
    std::string horizon = "24h";
    double threshold = 0;
    bool has_threshold = false;
    bool to_limit = false;
    bool json = false;
    std::string state_dir;
    std::string config_path;
};

int run_forecast(const Options& o) {
    auto selector = parse_selector(o.selector);
    if (!selector) return usage_error(selector.error().message);
    if (selector->metric.empty()) return usage_error("forecast needs a metric name: " + o.selector);
    const FieldInfo* info = find_metric(selector->metric);
    if (!info)
        return usage_error("unknown metric " + selector->metric +
                           " (top --json shows the names; see `perfbpf query --help`)");
    if (info->kind != MetricKind::level && info->kind != MetricKind::gauge)
        return usage_error(selector->metric +
                           " is a counter or histogram (an amount per interval); forecasts are "
                           "of levels and gauges");
    auto horizon = parse_duration_ms(o.horizon);
    if (!horizon) return usage_error("--horizon: " + horizon.error().message);
    const auto& limited = metrics_with_limits();
    const bool has_limits = std::ranges::find(limited, selector->metric) != limited.end();
    if (o.to_limit && !has_limits)
        return usage_error("--to-limit: perfbpf knows no limit for " + selector->metric +
                           "; give --threshold");

    int status = 0;
    auto history = open_history_for_reading(o.state_dir, o.config_path, status);
    if (!history) return status;
    ForecastQuery q;
    q.selector = *selector;
    q.horizon_ms = *horizon;
    q.now_ms = now_unix_ms();
    if (o.has_threshold) q.threshold = o.threshold;
    auto run = forecast_history(*history, q);
    if (!run) {
        std::fprintf(stderr, "perfbpf: %s\n", run.error().message.c_str());
        return 1;
    }
    if (o.json)
        std::cout << forecasts_json(*run, *horizon).dump(2) << "\n";
    else if (run->series.empty())
        std::cout << "no series match " << o.selector << " in the last "
                  << forecast_duration(run->lookback_ms) << "\n";
    else
        std::cout << render_forecasts(*run, *horizon);
    const bool any = std::ranges::any_of(
        run->series, [](const SeriesForecast& s) { return s.forecast.has_value(); });
    return any ? 0 : 1;
}

}  // namespace

void add_forecast(CLI::App& app) {
    auto o = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand(
        "forecast", "Forecast series from the daemon's history, with 90 % prediction intervals");
    cmd->footer(
        "METRIC names a level or gauge as `perfbpf query` does, with labels to pick objects.\n"
        "The forecast is a robust trend (Theil-Sen) plus a daily profile when the history\n"
        "shows one; its interval is calibrated by forecasting the series' own past and\n"
        "comparing with what came (see README, Forecasts). It needs twice the horizon of\n"
        "history. A threshold gives the time until it is crossed. Without --threshold,\n"
        "fs_used_bytes runs to fs_size_bytes, fs_inodes_used to fs_inodes_total,\n"
        "fs_avail_bytes and mem_available_bytes to 0, a cgroup's memory_current_bytes to\n"
        "memory.high or memory.max, and rss_bytes (a leak's projection) to its cgroup's\n"
        "memory.high or memory.max, else the machine's memory.\n\n"
        "Examples:\n"
        "  perfbpf forecast 'fs_used_bytes{mountpoint=\"/\"}' --horizon 7d\n"
        "  perfbpf forecast 'memory_current_bytes{cgroup=\"/system.slice/db.service\"}'\n"
        "  perfbpf forecast 'rss_bytes{comm=\"java\"}' --horizon 2d --json\n"
        "  perfbpf forecast cpu_busy_pct --horizon 6h --threshold 90\n\n"
        "Exit status: 0 forecast printed, 1 no history, no matching series or too little\n"
        "history for any, 2 bad metric, horizon or option.");
    cmd->add_option("metric", o->selector, "metric{label=\"value\",...}")->required();
    cmd->add_option("--horizon", o->horizon, "How far ahead (1h, 24h, 7d; default 24h)")
        ->type_name("DURATION");
    auto thr = cmd->add_option("--threshold", o->threshold,
                               "Say when the series crosses this value (in the metric's unit)")
                   ->type_name("X");
    cmd->add_flag("--to-limit", o->to_limit,
                  "Say when the series reaches its limit (the default for the metrics above)")
        ->excludes(thr);
    cmd->add_flag("--json", o->json, "Print JSON");
    cmd->add_option("--state-dir", o->state_dir,
                    "The daemon's state dir (default from the config, /var/lib/perfbpf)")
        ->type_name("DIR");
    cmd->add_option("--config", o->config_path, "TOML config naming the state dir")
        ->type_name("FILE");
    cmd->callback([o, thr] {
        o->has_threshold = thr->count() > 0;
        exit_status() = run_forecast(*o);
    });
}

}  // namespace perfbpf::cli
