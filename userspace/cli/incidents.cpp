// `perfbpf incidents`: open and past incidents and alert investigations from the daemon's
// STATE_DIR/incidents.jsonl (wiring only: folding and formatting are in
// sinks/incident_json.cpp).
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/history_cli.h"
#include "sinks/incident_json.h"
#include "sinks/incident_log.h"
#include "util/result.h"

namespace perfbpf::cli {
namespace {

struct Options : StateReaderOptions {
    bool json = false;
};

int run_incidents(const Options& o) {
    const int64_t now = now_unix_ms();
    auto from = since_ms(o.since, now);
    if (!from) return usage_error("--since: " + from.error().message);
    int status = 0;
    auto dir = reading_state_dir(o.state_dir, o.config_path, status);
    if (!dir) return status;
    struct stat st {};
    if (::stat(dir->c_str(), &st) != 0) {
        std::fprintf(stderr, "perfbpf: state dir %s: %s (the daemon writes incidents there)\n",
                     dir->c_str(), errno_text(errno).c_str());
        return 1;
    }
    auto lines = read_incident_log(*dir);
    if (!lines) {
        std::fprintf(stderr, "perfbpf: %s\n", lines.error().message.c_str());
        return 1;
    }
    const auto folded = fold_incident_records(*lines, *from);
    if (o.json)
        std::cout << folded.dump(2) << "\n";
    else
        std::cout << incidents_text(folded);
    return 0;
}

}  // namespace

void add_incidents(CLI::App& app) {
    auto o = std::make_shared<Options>();
    CLI::App* cmd =
        app.add_subcommand("incidents", "List open and past incidents and alert investigations");
    cmd->footer(
        "The daemon scores every series against its own recent past (and its daily and\n"
        "weekly pattern) and groups related anomalies into incidents ([anomaly] in the\n"
        "config, README \"Anomalies and incidents\"). For each incident opened and each\n"
        "alert fired it records the top consumers of the resource over the next few\n"
        "intervals. This lists them from STATE_DIR/incidents.jsonl: each incident's\n"
        "series with what was observed, the expected band and the score, then its\n"
        "evidence. Open incidents and firing alerts are listed whatever --since says.\n\n"
        "Examples:\n"
        "  perfbpf incidents\n"
        "  perfbpf incidents --since 7d --json\n\n"
        "Exit status: 0 listed (possibly none), 1 the state dir or its incidents cannot be\n"
        "read, 2 bad option.");
    add_state_reader_options(cmd, *o);
    cmd->add_flag("--json", o->json,
                  "Print JSON: {\"incidents\": [...], \"alerts\": [...], \"skipped\": N}");
    cmd->callback([o] { exit_status() = run_incidents(*o); });
}

}  // namespace perfbpf::cli
