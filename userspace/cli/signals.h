// SIGINT/SIGTERM/SIGHUP set a flag that long-running commands poll, so they can restore
// the terminal and detach probes on the way out.
#pragma once

#include <atomic>

namespace perfbpf::cli {

const std::atomic<bool>& stop_requested();
void install_stop_handlers();

}  // namespace perfbpf::cli
