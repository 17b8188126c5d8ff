// A memory cgroup created under our own, with a limit: where the selftest and the kernel
// tests provoke an OOM kill without touching anything else. Uses the v1 memory hierarchy
// when the memory controller is mounted there (memory.limit_in_bytes), else cgroup v2
// (memory.max) when the parent enables the memory controller for its children. The
// processes in it must have exited before destruction, which removes it. Where the
// hierarchy is not mounted in the usual place (a chroot), it is mounted privately.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "util/result.h"

namespace perfbpf::selftest {

// A cgroup directory of our own, made below `parent_dir` (a directory in a mounted
// hierarchy, v1 or v2); removed on destruction, once its processes have exited.
class CgroupDir {
  public:
    static Result<CgroupDir> create(const std::string& parent_dir, const std::string& name);
    CgroupDir() = default;
    CgroupDir(CgroupDir&& o) noexcept;
    CgroupDir& operator=(CgroupDir&& o) noexcept;
    CgroupDir(const CgroupDir&) = delete;
    CgroupDir& operator=(const CgroupDir&) = delete;
    ~CgroupDir() { remove(); }

    // Moves a process into the cgroup.
    bool add(pid_t pid) const;
    const std::string& dir() const { return dir_; }
    void remove();

  private:
    std::string dir_;
};

// This process's path in the hierarchy whose /proc/self/cgroup line lists `controller`
// ("cpu", "memory"), or in the v2 hierarchy for "".
std::optional<std::string> own_cgroup(const std::string& controller);

class MemoryCgroup {
  public:
    static Result<MemoryCgroup> create(uint64_t limit_bytes);
    MemoryCgroup(MemoryCgroup&& o) noexcept;
    MemoryCgroup(const MemoryCgroup&) = delete;
    MemoryCgroup& operator=(const MemoryCgroup&) = delete;
    ~MemoryCgroup();

    // Moves a process into the cgroup.
    bool add(pid_t pid) const { return dir_.add(pid); }
    // A shell command that moves the shell into the cgroup, then execs `command`.
    std::string enter_and_exec(const std::string& command) const;
    const std::string& path() const { return dir_.dir(); }

  private:
    MemoryCgroup() = default;
    CgroupDir dir_;
    std::string private_mount_;  // set when the hierarchy had to be mounted for us
};

}  // namespace perfbpf::selftest
