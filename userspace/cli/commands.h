// Every subcommand registers itself here; main.cpp calls these in order.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

namespace perfbpf::cli {

// Exit status of the subcommand that ran (set by its callback).
int& exit_status();

// A usage error found after parsing (a bad selector, time): one line, exit status 2.
inline int usage_error(const std::string& message) {
    std::fprintf(stderr, "perfbpf: %s\n", message.c_str());
    return 2;
}

void add_top(CLI::App& app);
void add_doctor(CLI::App& app);
void add_selftest(CLI::App& app);
void add_trace(CLI::App& app);
void add_tune(CLI::App& app);
void add_query(CLI::App& app);
void add_daemon(CLI::App& app);
void add_alerts(CLI::App& app);
void add_report(CLI::App& app);
void add_forecast(CLI::App& app);
void add_incidents(CLI::App& app);

}  // namespace perfbpf::cli
