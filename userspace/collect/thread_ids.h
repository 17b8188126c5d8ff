// The thread ids of a process, from its /proc task directory.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace perfbpf {

// Sorted; an error (the process exited, no permission) names the directory.
Result<std::vector<int>> thread_ids(const std::string& proc_root, int pid);

}  // namespace perfbpf
