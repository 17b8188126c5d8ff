// Which mounted filesystems have a size worth watching, from /proc/self/mountinfo text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace perfbpf {

struct MountEntry {
    uint32_t major = 0, minor = 0;  // the filesystem's device (st_dev), shared by bind mounts
    std::string root;  // the directory of the filesystem mounted here ("/" or a bind's)
    std::string mountpoint;
    std::string fstype;  // "ext4", "fuse.sshfs"
    std::string source;  // "/dev/vda1", "overlay", "tmpfs"
};

// Every line of mountinfo (proc(5)), with the octal escapes of paths (\040 for a space)
// decoded. Lines that do not parse are left out.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// The mounts that hold data: not pseudo filesystems (proc, sysfs, cgroup, tmpfs ...), not
// network or FUSE ones (statfs on an unreachable server can block the collector for
// minutes), and one mount per device: bind mounts show the same numbers again. Of a
// device's mounts the first of its whole filesystem (root "/") is kept, else its first.
std::vector<MountEntry> measurable_mounts(const std::vector<MountEntry>& mounts);

// The device label of a mount source: "/dev/vda1" -> "vda1", "overlay" stays.
std::string device_label(std::string_view source);

}  // namespace perfbpf
