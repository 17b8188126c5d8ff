// Every subcommand registers itself here; main.cpp calls these in order.
#pragma once

#include <CLI/CLI.hpp>

namespace perfbpf::cli {

// Exit status of the subcommand that ran (set by its callback).
int& exit_status();

void add_top(CLI::App& app);
void add_doctor(CLI::App& app);
void add_selftest(CLI::App& app);
void add_trace(CLI::App& app);
void add_tune(CLI::App& app);
void add_query(CLI::App& app);
void add_daemon(CLI::App& app);
void add_alerts(CLI::App& app);

}  // namespace perfbpf::cli
