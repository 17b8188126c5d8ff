// Files read every interval (procfs, sysfs, cgroupfs) kept open between reads. Opening one
// walks its path (an inode of /proc/PID/ made and a dentry freed per open and close): the
// ≈35 opens and closes of each 1 s interval were ≈10 % of the daemon's own CPU. These
// files are generated when read, so a read from offset 0 of the kept descriptor gives what
// a fresh open would.
//
// A kept descriptor outlives its object in two ways, and both fail the read: a removed
// cgroup's files (ENODEV), an exited process's /proc/PID files (ESRCH). The path is then
// opened again once (a cgroup made again at the same path, a pid reused), exactly what
// opening by path each time would have read.
//
// Only files of procfs, sysfs and cgroupfs are kept; others are opened per read.
// Not for files that pin what they name: /proc/PID/net/* keeps the process's network
// namespace alive while open.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include "util/fd.h"
#include "util/result.h"

namespace perfbpf {

class KeptFiles {
  public:
    // At most `max_open` descriptors are kept; past that a file is opened and closed per
    // read, as read_file does.
    explicit KeptFiles(size_t max_open) : max_open_(max_open) {}

    // The whole file. `keep` false reads it once without keeping it open (a file this pass
    // reads but the next will likely not).
    Result<std::string> read(const std::string& path, bool keep = true);
    // The first line, without its newline.
    Result<std::string> read_first_line(const std::string& path);

    // Closes the files not read since the previous call: what a removed cgroup, an exited
    // process or a disk that went away left open stays so at most one more pass.
    void end_pass();

    size_t open_count() const { return files_.size(); }

  private:
    struct Kept {
        UniqueFd fd;
        bool used = true;
    };
    std::unordered_map<std::string, Kept> files_;
    size_t max_open_;
};

}  // namespace perfbpf
