// Whether this process may load BPF programs, and what to tell the user when not.
#pragma once

#include <string>

namespace perfbpf {

struct Privileges {
    bool sys_admin = false;
    bool bpf = false;      // CAP_BPF (5.8+)
    bool perfmon = false;  // CAP_PERFMON (5.8+)
    bool enough() const { return sys_admin || (bpf && perfmon); }
    // "" when enough; otherwise one line naming what is missing and how to run.
    std::string missing_message(const std::string& command) const;
};

Privileges current_privileges();

}  // namespace perfbpf
