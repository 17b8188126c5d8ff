// perfbpf's --help layout: CLI11's, with option value names only ("SECONDS", not
// "FLOAT:FLOAT in [0.1 - 3600]": ranges and exclusions are said in the descriptions),
// descriptions wrapped to kHelpWidth, and one line per subcommand in a command list.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace perfbpf::cli {

inline constexpr size_t kHelpWidth = 100;

// Subcommands inherit the formatter: set it on the app before adding them.
std::shared_ptr<CLI::Formatter> help_formatter();

}  // namespace perfbpf::cli
