// `perfbpf alerts`: active and past alerts from the daemon's history (wiring only: the
// episodes and their formatting are in sinks/history_alerts.cpp).
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/history_cli.h"
#include "model/daemon_status.h"
#include "model/selector.h"
#include "sinks/history_alerts.h"

namespace perfbpf::cli {
namespace {

struct Options : StateReaderOptions {
    bool json = false;
};

int run_alerts(const Options& o) {
    const int64_t now = now_unix_ms();
    auto from = since_ms(o.since, now);
    if (!from) return usage_error("--since: " + from.error().message);
    int status = 0;
    auto history = open_history_for_reading(o.state_dir, o.config_path, status);
    if (!history) return status;
    auto selector = parse_selector(kAlertStateMetric);
    auto series = history->query(*selector, *from, now, 0);
    if (!series) {
        std::fprintf(stderr, "perfbpf: %s\n", series.error().message.c_str());
        return 1;
    }
    const auto episodes = alert_episodes(*series, now, kAlertSeriesStaleMs);
    if (o.json)
        std::cout << alert_episodes_json(episodes).dump(2) << "\n";
    else
        std::cout << render_alert_episodes(episodes, now);
    return 0;
}

}  // namespace

void add_alerts(CLI::App& app) {
    auto o = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand("alerts", "List active and past alerts from the history");
    cmd->footer(
        "The daemon evaluates its alert rules every interval and records each alert's\n"
        "state in the history (alert_state{alert,severity,...}: 1 firing, 0 resolved);\n"
        "this lists them: firing ones first, then resolved ones, newest first. An alert\n"
        "that escalated shows once per severity.\n\n"
        "Examples:\n"
        "  perfbpf alerts\n"
        "  perfbpf alerts --since 7d --json\n\n"
        "Exit status: 0 listed (possibly none), 1 no history or it cannot be read,\n"
        "2 bad option.");
    add_state_reader_options(cmd, *o);
    cmd->add_flag("--json", o->json, "Print JSON: {\"active\": [...], \"past\": [...]}");
    cmd->callback([o] { exit_status() = run_alerts(*o); });
}

}  // namespace perfbpf::cli
