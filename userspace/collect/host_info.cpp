#include "collect/host_info.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "probes/bpf_object.h"
#include "util/files.h"

namespace perfbpf {

HostInfo read_host_info(const std::string& proc_root) {
    HostInfo h;
    struct utsname u;
    if (::uname(&u) == 0) {
        h.kernel = u.release;
        h.arch = u.machine;
    }
    h.btf = ::access("/sys/kernel/btf/vmlinux", R_OK) == 0;
    auto mounts = read_file(proc_root + "/self/mounts");
    if (mounts) {
        h.cgroup_mode = cgroup_mode_from_mounts(*mounts, &h.cgroup2_mount);
        h.tracefs = tracefs_from_mounts(*mounts);
    }
    h.pid_max = read_pid_max();
    struct rlimit rl;
    if (::getrlimit(RLIMIT_MEMLOCK, &rl) == 0)
        h.memlock_limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
    h.psi = ::access((proc_root + "/pressure/cpu").c_str(), R_OK) == 0;
    h.privileges = current_privileges();
    return h;
}

}  // namespace perfbpf
