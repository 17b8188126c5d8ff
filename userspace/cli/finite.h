// The check every floating-point option shares: CLI11 reads "nan" and "inf" as doubles,
// and NaN passes CLI::Range (every comparison with it is false), so `--interval nan`
// reached the collector as an interval that never ends.
#pragma once

#include <CLI/CLI.hpp>

namespace perfbpf::cli {

// Refuses text that is not a finite number. Put it before any CLI::Range.
const CLI::Validator& finite_number();

}  // namespace perfbpf::cli
