#include "util/privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace perfbpf {
namespace {

constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

bool has_cap(const __user_cap_data_struct* data, int cap) {
    return data[cap / 32].effective & (1u << (cap % 32));
}

}  // namespace

Privileges current_privileges() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    Privileges p;
    if (syscall(SYS_capget, &header, data) != 0) return p;
    p.sys_admin = has_cap(data, CAP_SYS_ADMIN);
    p.bpf = has_cap(data, kCapBpf);
    p.perfmon = has_cap(data, kCapPerfmon);
    return p;
}

std::string Privileges::missing_message(const std::string& command) const {
    if (enough()) return {};
    std::string missing;
    if (!bpf) missing += "CAP_BPF";
    if (!perfmon) missing += missing.empty() ? "CAP_PERFMON" : " and CAP_PERFMON";
    return "perfbpf " + command + " needs " + missing +
           " (or root) to load its BPF probes: run `sudo perfbpf " + command +
           "`, or grant them with `sudo setcap cap_bpf,cap_perfmon+ep $(command -v perfbpf)`";
}

}  // namespace perfbpf
