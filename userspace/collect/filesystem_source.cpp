#include "collect/filesystem_source.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "collect/parse/filesystems.h"
#include "util/files.h"

namespace perfbpf {

FilesystemSource::FilesystemSource(std::string proc_root) : root_(std::move(proc_root)) {}

void FilesystemSource::collect(SnapshotBuilder& builder) {
    const std::string path = root_ + "/self/mountinfo";
    auto text = read_file(path);
    if (!text) {
        if (warned_.insert(path).second) spdlog::warn("{}", text.error().message);
        return;
    }
    for (const MountEntry& m : measurable_mounts(parse_mountinfo(*text))) {
        struct statvfs st;
        if (::statvfs(m.mountpoint.c_str(), &st) != 0) {
            // A mount this process may not see into (another user's FUSE, a stale one).
            if (warned_.insert(m.mountpoint).second)
                spdlog::warn("statvfs {}: {}", m.mountpoint, std::strerror(errno));
            continue;
        }
        if (st.f_blocks == 0) continue;  // nothing to fill
        const uint64_t unit = st.f_frsize ? st.f_frsize : st.f_bsize;
        FilesystemSample f;
        f.mountpoint = m.mountpoint;
        f.device = device_label(m.source);
        f.fstype = m.fstype;
        f.size_bytes = st.f_blocks * unit;
        f.used_bytes = (st.f_blocks - std::min(st.f_bfree, st.f_blocks)) * unit;
        f.avail_bytes = st.f_bavail * unit;
        f.inodes_total = st.f_files;
        f.inodes_used = st.f_files - std::min<uint64_t>(st.f_ffree, st.f_files);
        builder.filesystems().push_back(std::move(f));
    }
}

}  // namespace perfbpf
