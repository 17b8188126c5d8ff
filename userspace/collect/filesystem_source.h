// Size, use and inodes of the mounted filesystems (statfs of each in mountinfo).
#pragma once

#include <set>
#include <string>

#include "collect/source.h"

namespace perfbpf {

class FilesystemSource : public Source {
  public:
    explicit FilesystemSource(std::string proc_root);
    std::string_view name() const override { return "filesystems"; }
    void collect(SnapshotBuilder& builder) override;

  private:
    std::string root_;
    std::set<std::string> warned_;  // mount points whose statfs failed, warned about once
};

}  // namespace perfbpf
