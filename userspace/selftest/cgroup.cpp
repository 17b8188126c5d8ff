#include "selftest/cgroup.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <sstream>
#include <utility>

#include "util/files.h"

namespace perfbpf::selftest {

namespace {

std::string read_text(const std::string& path) {
    return read_file(path).value_or("");
}

bool write_text(const std::string& path, const std::string& text) {
    return write_file(path, text).has_value();
}

}  // namespace

std::optional<std::string> own_cgroup(const std::string& controller) {
    auto text = read_file("/proc/self/cgroup");
    if (!text) return std::nullopt;
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        auto c1 = line.find(':');
        auto c2 = line.find(':', c1 + 1);
        if (c1 == std::string::npos || c2 == std::string::npos) continue;
        std::string list = line.substr(c1 + 1, c2 - c1 - 1);
        bool match = controller.empty()
                         ? list.empty() && line.rfind("0:", 0) == 0
                         : ("," + list + ",").find("," + controller + ",") != std::string::npos;
        if (match) return line.substr(c2 + 1);
    }
    return std::nullopt;
}

Result<CgroupDir> CgroupDir::create(const std::string& parent_dir, const std::string& name) {
    CgroupDir d;
    std::string dir = parent_dir + "/" + name;
    std::error_code ec;
    if (!std::filesystem::create_directory(dir, ec))
        return fail("mkdir " + dir + ": " + (ec ? ec.message() : "exists already"));
    d.dir_ = dir;
    return d;
}

CgroupDir::CgroupDir(CgroupDir&& o) noexcept : dir_(std::exchange(o.dir_, {})) {}

CgroupDir& CgroupDir::operator=(CgroupDir&& o) noexcept {
    if (this != &o) {
        remove();
        dir_ = std::exchange(o.dir_, {});
    }
    return *this;
}

void CgroupDir::remove() {
    if (dir_.empty()) return;
    // The kernel may need a moment to let go of a member that just exited (or was
    // OOM-killed).
    for (int i = 0; i < 50 && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i) ::usleep(20000);
    dir_.clear();
}

bool CgroupDir::add(pid_t pid) const {
    return write_text(dir_ + "/cgroup.procs", std::to_string(pid));
}

// Mounts the hierarchy at a private temporary directory when it is not visible where
// systemd puts it (e.g. inside a chroot whose /sys was bind-mounted without submounts).
// Mounting an existing hierarchy again shows the same cgroups; nothing else changes.
Result<std::string> mount_privately(bool v1_memory) {
    char tmpl[] = "/tmp/perfbpf-cgroup.XXXXXX";
    if (!mkdtemp(tmpl)) return fail_errno("mkdtemp for a cgroup mount", errno);
    int rc = v1_memory ? ::mount("cgroup", tmpl, "cgroup", 0, "memory")
                       : ::mount("cgroup2", tmpl, "cgroup2", 0, nullptr);
    if (rc != 0) {
        int err = errno;
        ::rmdir(tmpl);
        return fail_errno(std::string("mount ") + (v1_memory ? "the v1 memory" : "the cgroup2") +
                              " hierarchy at " + tmpl,
                          err);
    }
    return std::string(tmpl);
}

Result<MemoryCgroup> MemoryCgroup::create(uint64_t limit_bytes) {
    namespace fs = std::filesystem;
    MemoryCgroup cg;
    // Where to create it, and the files that set its limit and keep it from swapping (no
    // swap to escape to: the limit is met by the OOM killer, as on a host without swap).
    std::string parent, limit_file, no_swap_file;
    auto v1 = own_cgroup("memory");
    auto v2 = own_cgroup("");
    auto under = [](const std::string& root, const std::string& path) {
        return root + (path == "/" ? "" : path);
    };
    if (v1) {
        std::string root = "/sys/fs/cgroup/memory";
        if (!fs::exists(root + "/cgroup.procs")) {
            auto mnt = mount_privately(true);
            if (!mnt) return std::unexpected(mnt.error());
            root = cg.private_mount_ = *mnt;
        }
        parent = under(root, *v1);
        limit_file = "memory.limit_in_bytes";
        no_swap_file = "memory.swappiness";
    } else if (v2) {
        // cgroup v2 is at /sys/fs/cgroup (pure v2) or /sys/fs/cgroup/unified (hybrid).
        std::string root = fs::exists("/sys/fs/cgroup/cgroup.controllers")
                               ? "/sys/fs/cgroup"
                               : "/sys/fs/cgroup/unified";
        if (!fs::exists(root + "/cgroup.controllers")) {
            auto mnt = mount_privately(false);
            if (!mnt) return std::unexpected(mnt.error());
            root = cg.private_mount_ = *mnt;
        }
        parent = under(root, *v2);
        std::string enabled = " " + read_text(parent + "/cgroup.subtree_control") + " ";
        for (char& c : enabled)
            if (c == '\n') c = ' ';
        if (enabled.find(" memory ") == std::string::npos)
            return fail("cgroup v2 memory controller not enabled for children of " + parent);
        limit_file = "memory.max";
        no_swap_file = "memory.swap.max";
    } else {
        return fail("no memory cgroup controller in /proc/self/cgroup (kernel without memcg?)");
    }
    auto dir = CgroupDir::create(parent, "perfbpf-test-" + std::to_string(getpid()));
    if (!dir) return std::unexpected(dir.error());
    cg.dir_ = std::move(*dir);
    const std::string& d = cg.dir_.dir();
    write_text(d + "/" + no_swap_file, "0");
    // On failure the destructor removes the directory (and the private mount).
    if (!write_text(d + "/" + limit_file, std::to_string(limit_bytes)))
        return fail("write " + d + "/" + limit_file + " failed");
    return cg;
}

MemoryCgroup::MemoryCgroup(MemoryCgroup&& o) noexcept
    : dir_(std::move(o.dir_)), private_mount_(std::exchange(o.private_mount_, {})) {}

MemoryCgroup::~MemoryCgroup() {
    dir_.remove();  // before the private mount goes
    if (!private_mount_.empty()) {
        ::umount2(private_mount_.c_str(), MNT_DETACH);
        ::rmdir(private_mount_.c_str());
    }
}

std::string MemoryCgroup::enter_and_exec(const std::string& command) const {
    return "echo $$ > " + dir_.dir() + "/cgroup.procs && exec " + command;
}

}  // namespace perfbpf::selftest
