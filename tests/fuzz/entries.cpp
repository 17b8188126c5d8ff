#include "entries.h"

#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "collect/parse/cgroup_files.h"
#include "collect/parse/filesystems.h"
#include "collect/parse/mounts.h"
#include "collect/parse/procfs.h"
#include "config/config.h"
#include "sinks/snapshot_record.h"
#include "tune/journal.h"
#include "util/fd.h"

namespace perfbpf::fuzz {

void config(std::string_view data) {
    (void)parse_config(std::string(data), "fuzz");
}

void recording(std::string_view data) {
    // Through a file, as `top --replay` reads one: the reader's size limits are part of
    // what is tested. A memfd keeps the many runs off the disk.
    UniqueFd fd(::memfd_create("perfbpf-fuzz-recording", MFD_CLOEXEC));
    if (!fd.valid()) return;
    for (size_t at = 0; at < data.size();) {
        const ssize_t n = ::write(fd.get(), data.data() + at, data.size() - at);
        if (n <= 0) return;
        at += static_cast<size_t>(n);
    }
    (void)read_recording("/proc/self/fd/" + std::to_string(fd.get()));
}

void journal(std::string_view data) {
    (void)tune::replay_journal(std::string(data), "fuzz");
}

void procfs(std::string_view data) {
    (void)parse_pid_stat(data);
    (void)parse_proc_stat(data);
    (void)parse_meminfo(data);
    (void)parse_vmstat(data);
    (void)parse_loadavg(data);
    (void)parse_pressure(data);
    (void)parse_netstat(data);
    (void)parse_softnet_stat(data);
    (void)parse_diskstats(data);
    (void)parse_dev_numbers(data);
}

void mounts(std::string_view data) {
    const std::string text(data);
    std::string cgroup2;
    (void)cgroup_mode_from_mounts(text, &cgroup2);
    (void)cgroup_v1_mounts(text);
    (void)cgroup_v1_mount(text, "cpu");
    (void)tracefs_from_mounts(text);
    (void)cgroup_roots_from_mounts(text);
    (void)measurable_mounts(parse_mountinfo(data));
    (void)choose_cgroup(parse_proc_cgroup(data));
    (void)choose_cgroup_path(data);
}

}  // namespace perfbpf::fuzz
