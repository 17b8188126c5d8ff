// What one of top's keys asks of a live process (signal, renice, describe, its threads).
// Here, below both, because the view model (sinks/top_view.h) makes it and collect/
// (process_actions.h) carries it out: only collect/ touches the kernel.
#pragma once

#include <string>

namespace perfbpf {

// What a key asks of the world outside the view model: the tui does it and reports back
// in TopUiState::message, so the state machine stays pure and testable.
struct TopAction {
    // threads: read the threads of `pid` into TopUiState::threads (pid 0: none).
    enum class Kind { none, signal, renice, describe, threads } kind = Kind::none;
    int pid = 0;
    int value = 0;  // signal: its number; renice: the increment
    std::string comm;
};

}  // namespace perfbpf
