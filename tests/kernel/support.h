// Helpers for kernel tests: the root/CI skip rule, child processes we own, temporary
// directories, loop devices, and running the perfbpf binary.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "model/snapshot.h"
#include "selftest/cgroup.h"
#include "selftest/loop.h"
#include "selftest/workload.h"
#include "support/fixtures.h"
#include "support/temp_dir.h"

namespace perfbpf::test {

// "" when the test may run; otherwise why not.
std::string missing_root_reason();

// Skips (or, with CI=true, fails) the current test when not root.
#define PERFBPF_REQUIRE_ROOT()                                              \
    do {                                                                    \
        std::string why_ = ::perfbpf::test::missing_root_reason();          \
        if (!why_.empty()) {                                                \
            if (::perfbpf::test::in_ci()) FAIL() << "CI=true and " << why_; \
            GTEST_SKIP() << why_;                                           \
        }                                                                   \
    } while (0)

bool in_ci();

// Skips (or fails under CI) with a reason.
#define PERFBPF_SKIP_OR_FAIL(reason)                                        \
    do {                                                                    \
        if (::perfbpf::test::in_ci()) FAIL() << "CI=true and " << (reason); \
        GTEST_SKIP() << (reason);                                           \
    } while (0)

// A child process we started: killed (SIGKILL, by pid) and reaped on destruction.
// Child::spawn(argv, cpu) execs argv, pinned to `cpu` when >= 0.
using Child = selftest::Worker;

// Runs a shell command, returns its stdout; `status` receives the exit status.
std::string run_command(const std::string& cmd, int* status = nullptr);
// The whole of a file ("" when it cannot be read): logs and status files of what a test runs.
std::string slurp(const std::string& path);

// `cmd` run inside the named network namespace (/run/netns/NAME). nsenter joins only the
// network namespace; `ip -n` and `ip netns exec` also remount /sys in a private mount
// namespace, which fails where / is not a mount point (a chroot, as in fresh-debian.sh).
std::string in_netns(const std::string& netns, const std::string& cmd);

// Runs setup commands in order, stopping at the first that fails: false, and `error`
// names it with its output.
bool run_steps(const std::vector<std::string>& commands, std::string* error);

// A loop device over a file of ours (selftest::LoopDevice), optionally with an ext4
// filesystem mounted in its temporary directory. Everything is undone on destruction.
class LoopDevice {
  public:
    static std::optional<LoopDevice> create(size_t size_mib, bool with_filesystem,
                                            std::string* error);
    LoopDevice(LoopDevice&& o) noexcept;
    LoopDevice(const LoopDevice&) = delete;
    LoopDevice& operator=(const LoopDevice&) = delete;
    ~LoopDevice();

    const std::string& device() const { return dev_.device(); }  // "/dev/loop3"
    std::string name() const { return dev_.name(); }             // "loop3"
    const std::string& mount_point() const { return mount_; }

  private:
    explicit LoopDevice(selftest::LoopDevice dev) : dev_(std::move(dev)) {}
    selftest::LoopDevice dev_;
    std::string mount_;
};

using selftest::MemoryCgroup;

// A bursty sleeper: runs `work_us` of CPU, then sleeps `sleep_us`, for `seconds`; 0.
int bursts(double seconds, int work_us, int sleep_us);

// A child that first joins each cgroup (its cgroup.procs file; exit status 2 when it
// cannot), then runs fn, pinned to `cpu` when >= 0.
Result<Child> start_in_cgroups(const std::vector<std::string>& procs_files,
                               const std::function<int()>& fn, int cpu = -1);

// A hierarchy a test cgroup can be made in here: its mount, the controller that names it
// in /proc/self/cgroup ("" for v2) and CgroupSample::hierarchy ("cpu", "v2").
struct CgroupHierarchy {
    std::string root, controller, name;
};
// The v1 cpu hierarchy and the v2 one, those that are mounted. The v2 tree takes processes
// whether or not it has controllers (hybrid hosts).
std::vector<CgroupHierarchy> cgroup_hierarchies();

// A Collector running only `families`, with the given interval; null (and a test failure)
// when it cannot be created. Every core probe of those families must attach.
std::unique_ptr<Collector> family_collector(const std::set<std::string>& families,
                                            uint64_t interval_ns);

// The process with this pid in a snapshot, or null.
const ProcessSample* find_process(const Snapshot& s, int pid);

// A loopback TCP port nothing listens on now (the kernel's pick for port 0); -1 if none.
int free_loopback_port();

// Waits (up to 5 s) for tcp_pair's receiver to publish its port in `path`; 0 if it does not.
int wait_for_port(const std::string& path);

// A loopback TCP port nothing listens on now (the kernel's pick for port 0), for a server a
// test starts (Prometheus, Alertmanager); -1 when none could be had.
int free_loopback_port();

// True when the process maps a file whose path contains `name` ("libperfbpf_shim").
bool maps_path_containing(int pid, const std::string& name);

std::string perfbpf_binary();

// Runs `perfbpf ARGS` and returns stdout; `status` receives the exit status.
std::string run_perfbpf(const std::string& args, int* status = nullptr);

// Namespaces "<base>a" (10.204.1.1) and "<base>b" (10.204.1.2) joined by a veth pair,
// removed on destruction.
class NetnsPair {
  public:
    static std::unique_ptr<NetnsPair> create(std::string* error);
    ~NetnsPair();
    NetnsPair(const NetnsPair&) = delete;
    NetnsPair& operator=(const NetnsPair&) = delete;

    const std::string& a() const { return a_; }
    const std::string& b() const { return b_; }
    static uint64_t inode(const std::string& ns);
    // Sets a per-namespace sysctl inside `ns` only.
    static bool set(const std::string& ns, const std::string& sysctl, const std::string& value);
    // A per-namespace sysctl as `ns` reads it (whitespace as the kernel prints it).
    static std::string get(const std::string& ns, const std::string& sysctl);
    // A TcpExt counter of the namespace's /proc/net/netstat, as the kernel counts it.
    static uint64_t tcp_ext(const std::string& ns, const std::string& field);

  private:
    NetnsPair() = default;
    std::string a_, b_;
    bool created_ = false;
};

}  // namespace perfbpf::test
