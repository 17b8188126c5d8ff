#include "collect/filesystem_source.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "collect/parse/filesystems.h"
#include "util/files.h"

namespace perfbpf {

FilesystemSource::FilesystemSource(std::string proc_root) : root_(std::move(proc_root)) {}

const std::vector<MountEntry>* FilesystemSource::mounts() {
    const std::string path = root_ + "/self/mountinfo";
    if (mounts_read_ && mountinfo_polls_) {
        pollfd p{mountinfo_.get(), POLLPRI, 0};
        if (::poll(&p, 1, 0) == 0) return &mounts_;
    }
    if (!mountinfo_.valid()) {
        mountinfo_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        struct statfs fs;
        mountinfo_polls_ = mountinfo_.valid() && ::fstatfs(mountinfo_.get(), &fs) == 0 &&
                           fs.f_type == PROC_SUPER_MAGIC;
    }
    Result<std::string> text = fail_errno("open " + path, errno);
    if (mountinfo_.valid()) {
        text = read_from_start(mountinfo_.get(), path);
        if (!text) mountinfo_.reset();  // opened again next time
    }
    if (!text) {
        if (warned_.insert(path).second) spdlog::warn("{}", text.error().message);
        mounts_read_ = false;
        return nullptr;
    }
    mounts_ = measurable_mounts(parse_mountinfo(*text));
    mounts_read_ = true;
    return &mounts_;
}

void FilesystemSource::collect(SnapshotBuilder& builder) {
    const std::vector<MountEntry>* mounts = this->mounts();
    if (!mounts) return;
    for (const MountEntry& m : *mounts) {
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
