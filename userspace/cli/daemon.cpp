// `perfbpf daemon`: always-on collection into the history (wiring only; the
// loop is in daemon/daemon.cpp).
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/finite.h"
#include "cli/history_cli.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "sinks/daemon_status.h"
#include "util/files.h"
#include "util/listen_address.h"

namespace perfbpf::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void on_stop(int) {
    g_stop.store(true);
}
void on_reload(int) {
    g_reload.store(true);
}

void install_daemon_handlers() {
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    for (int sig : {SIGINT, SIGTERM}) sigaction(sig, &sa, nullptr);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, nullptr);
}

struct Options {
    std::string config_path;
    std::string state_dir;
    std::optional<double> interval_s;
    std::optional<std::string> listen;
    int iterations = 0;
    bool status = false;
    bool json = false;
};

std::string state_dir_of(const Options& o) {
    if (!o.state_dir.empty()) return o.state_dir;
    auto c = load_config(o.config_path);
    return c ? c->state_dir : Config{}.state_dir;
}

int print_status(const Options& o) {
    const std::string path = state_dir_of(o) + "/" + kDaemonStatusFile;
    auto text = read_file(path);
    if (!text) {
        std::fprintf(stderr, "perfbpf: no daemon status: %s\n", text.error().message.c_str());
        return 1;
    }
    auto j = nlohmann::json::parse(*text, nullptr, false);
    auto s = daemon_status_from_json(j);
    if (!s) {
        std::fprintf(stderr, "perfbpf: %s: %s\n", path.c_str(), s.error().message.c_str());
        return 1;
    }
    if (o.json)
        std::cout << daemon_status_json(*s).dump(2) << "\n";
    else
        std::cout << render_daemon_status(*s, now_unix_ms());
    return 0;
}

}  // namespace

void add_daemon(CLI::App& app) {
    auto o = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand("daemon",
                                       "Collect all the time into the history (run "
                                       "it under systemd: perfbpf.service)");
    cmd->footer(
        "The same collector as top, every interval (default 1 s, down to 0.1 s), "
        "each\n"
        "interval's metrics appended to the history in the state dir (query it "
        "with\n"
        "'perfbpf query'). Runs in the foreground and logs to stderr. SIGHUP "
        "reloads the\n"
        "config (an invalid one is logged and the running one kept); SIGTERM "
        "flushes and\n"
        "exits 0. Tells systemd READY=1 once probes are attached and WATCHDOG=1 "
        "each\n"
        "interval. Once a period it measures its own cost (CPU + BPF run time) "
        "and sheds\n"
        "work over [daemon] cpu_budget_pct. Serves the latest interval to Prometheus\n"
        "at http://127.0.0.1:9637/metrics and a live dashboard at http://127.0.0.1:9637/\n"
        "(--listen, [daemon] listen).\n\n"
        "Examples:\n"
        "  sudo perfbpf daemon                          # defaults, "
        "/var/lib/perfbpf\n"
        "  sudo perfbpf daemon --interval 0.1 --state-dir /srv/perfbpf\n"
        "  perfbpf daemon --status                      # what the running "
        "daemon reports\n\n"
        "Exit status: 0 stopped by SIGTERM/SIGINT (or after --iterations), 1 "
        "cannot run\n"
        "(privileges, state dir, history), 2 bad configuration or arguments.");
    cmd->add_option("--config", o->config_path,
                    "TOML config (default /etc/perfbpf/perfbpf.toml when present)")
        ->type_name("FILE");
    cmd->add_option("--state-dir", o->state_dir,
                    "Where history and status live (default /var/lib/perfbpf)")
        ->type_name("DIR");
    cmd->add_option("--interval", o->interval_s, "Seconds between samples, 0.1 to 3600 (default 1)")
        ->type_name("SECONDS")
        ->check(finite_number())
        ->check(CLI::Range(0.1, 3600.0).description(""));
    cmd->add_option("--listen", o->listen,
                    "Serve GET /metrics and the dashboard on ADDR:PORT, an IP address; "
                    "\"\" serves nothing "
                    "(default [daemon] listen, 127.0.0.1:9637)")
        ->type_name("ADDR:PORT");
    cmd->add_option("--iterations", o->iterations,
                    "Stop after N intervals (tests; default: run until stopped)")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber.description(""));
    cmd->add_flag("--status", o->status,
                  "Print the running daemon's status from its state dir and exit");
    cmd->add_flag("--json", o->json, "With --status: as JSON");
    cmd->callback([o] {
        if (o->status) {
            exit_status() = print_status(*o);
            return;
        }
        install_daemon_handlers();
        DaemonOptions d;
        d.config_path = o->config_path;
        if (!o->state_dir.empty()) d.state_dir = o->state_dir;
        d.interval_s = o->interval_s;
        if (o->listen) {
            if (!o->listen->empty())
                if (auto a = parse_listen(*o->listen); !a) {
                    spdlog::error("--listen: {}", a.error().message);
                    exit_status() = 2;
                    return;
                }
            d.listen = o->listen;
        }
        d.iterations = o->iterations;
        d.stop = &g_stop;
        d.reload = &g_reload;
        spdlog::set_level(spdlog::get_level() > spdlog::level::info ? spdlog::level::info
                                                                    : spdlog::get_level());
        exit_status() = run_daemon(d);
    });
}

}  // namespace perfbpf::cli
