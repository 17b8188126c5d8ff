// What top's keys do to a live process (model/top_action.h TopAction): send it a signal,
// renice it, read its command line. Here, not in the view, because only collect/ touches
// the kernel; the tui reaches it through TuiOptions::act.
#pragma once

#include <string>

#include "model/top_action.h"

namespace perfbpf {

// Carries out `a` and returns one line for the status bar ("sent SIGTERM to 123 app",
// "renice 123 app: Permission denied"); for Kind::describe, the command line ("" when it
// cannot be read: the process is gone or a kernel thread).
std::string carry_out_top_action(const TopAction& a, const std::string& proc_root = "/proc");

// /proc/PID/cmdline with its NULs as spaces; "" when unreadable or empty.
std::string read_cmdline(int pid, const std::string& proc_root = "/proc");

}  // namespace perfbpf
