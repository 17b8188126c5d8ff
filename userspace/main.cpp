// perfbpf: eBPF observability and tuning. Subcommands live in cli/, one file each.
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "cli/commands.h"

int main(int argc, char** argv) {
    // Log to stderr so stdout stays clean for --json.
    spdlog::set_default_logger(spdlog::stderr_color_mt("perfbpf"));
    spdlog::set_pattern("perfbpf: %^%l%$: %v");
    spdlog::set_level(spdlog::level::warn);
    spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug

    CLI::App app{
        "perfbpf: kernel-level observability and tuning with eBPF.\n"
        "Finds CPU run-queue contention, disk saturation, memory pressure and network\n"
        "retransmits per process, cgroup and device, using tracepoints only."};
    app.require_subcommand(1);
    app.set_version_flag("--version", "perfbpf 0.1.0");
    bool verbose = false;
    app.add_flag("-v,--verbose", verbose, "Log debug detail (libbpf, probe loading) to stderr");
    app.parse_complete_callback([&] {
        if (verbose) spdlog::set_level(spdlog::level::debug);
    });
    // One line, and exit 2 for every usage error (CLI11's own codes are 100 and up).
    app.failure_message([](const CLI::App*, const CLI::Error& e) {
        return "perfbpf: " + std::string(e.what()) + " (see --help)\n";
    });
    perfbpf::cli::add_top(app);
    perfbpf::cli::add_doctor(app);
    perfbpf::cli::add_selftest(app);
    perfbpf::cli::add_trace(app);
    perfbpf::cli::add_tune(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "perfbpf: %s\n", e.what());
        return 1;
    }
    return perfbpf::cli::exit_status();
}

namespace perfbpf::cli {
int& exit_status() {
    static int status = 0;
    return status;
}
}  // namespace perfbpf::cli
