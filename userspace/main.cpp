// perfbpf: eBPF observability and tuning. Subcommands live in cli/, one file each.
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/help_format.h"

namespace {

// Also the README's table; scripts rely on these.
constexpr const char* kExitStatusHelp =
    "Exit status:\n"
    "  0  success (doctor: every core probe attaches; selftest: every supported probe passed)\n"
    "  1  failure at run time: missing privileges, a probe or file that could not be used,\n"
    "     a failed selftest check or tune change\n"
    "  2  usage error: unknown command or option, a bad value, a --pid or --cgroup that does\n"
    "     not exist, an unreadable or invalid --config\n"
    "\n"
    "Examples:\n"
    "  sudo perfbpf top                 live view of the whole machine\n"
    "  sudo perfbpf doctor              what this kernel supports\n"
    "  perfbpf top --help               a command's options and examples";

// The first argument that is not one of the main options: the command CLI11 would take.
// An unknown word there would otherwise be reported as an unexpected extra argument.
const char* command_word(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (argv[i][0] != '-') return argv[i];
    return nullptr;
}

bool is_command(const CLI::App& app, const std::string& word) {
    for (const CLI::App* sub : app.get_subcommands({}))
        if (sub->check_name(word)) return true;
    return false;
}

int unknown_command(const CLI::App& app, std::string_view word) {
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({}))
        names += (names.empty() ? "" : ", ") + sub->get_name();
    std::fprintf(stderr, "perfbpf: unknown command '%.*s'; commands: %s (perfbpf --help)\n",
                 static_cast<int>(word.size()), word.data(), names.c_str());
    return 2;
}

}  // namespace

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
    // Inherited by the subcommands added below.
    app.formatter(perfbpf::cli::help_formatter());
    app.fallthrough();  // main options (-v) after the command too: `perfbpf top -v`
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
    perfbpf::cli::add_daemon(app);
    perfbpf::cli::add_query(app);
    perfbpf::cli::add_alerts(app);
    perfbpf::cli::add_report(app);
    perfbpf::cli::add_forecast(app);
    perfbpf::cli::add_incidents(app);
    app.footer(kExitStatusHelp);  // after add_*: subcommands would inherit it

    if (const char* word = command_word(argc, argv); word && !is_command(app, word))
        return unknown_command(app, word);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version are "errors" with status 0; CLI11's own codes (105-109...)
        // are all usage errors to a caller.
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
