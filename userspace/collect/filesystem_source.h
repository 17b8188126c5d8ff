// Size, use and inodes of the mounted filesystems (statfs of each in mountinfo).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "collect/parse/filesystems.h"
#include "collect/source.h"
#include "util/fd.h"

namespace perfbpf {

class FilesystemSource : public Source {
  public:
    explicit FilesystemSource(std::string proc_root);
    std::string_view name() const override { return "filesystems"; }
    void collect(SnapshotBuilder& builder) override;

  private:
    // The mounts to measure, read again when the mount table changed.
    const std::vector<MountEntry>* mounts();

    std::string root_;
    // mountinfo is made by the kernel walking every mount of the namespace (a path built
    // for each): thousands on a container host, each interval. Kept open, it is read again
    // only when poll() reports POLLPRI, the kernel's sign that the namespace's mount table
    // changed since this file last looked (proc(5)); a file that is not procfs's (a test's
    // fake root) cannot say so and is read each time.
    UniqueFd mountinfo_;
    bool mountinfo_polls_ = false;
    bool mounts_read_ = false;
    std::vector<MountEntry> mounts_;
    std::set<std::string> warned_;  // mount points whose statfs failed, warned about once
};

}  // namespace perfbpf
