#include "selftest/cgroup.h"

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

// This process's path in the hierarchy whose /proc/self/cgroup line has `controllers`
// ("memory" for v1, "" for the v2 line "0::PATH").
std::optional<std::string> own_cgroup(const std::string& controllers) {
    std::istringstream in(read_text("/proc/self/cgroup"));
    std::string line;
    while (std::getline(in, line)) {
        auto c1 = line.find(':');
        auto c2 = line.find(':', c1 + 1);
        if (c1 == std::string::npos || c2 == std::string::npos) continue;
        std::string list = line.substr(c1 + 1, c2 - c1 - 1);
        bool match = controllers.empty()
                         ? list.empty() && line.rfind("0:", 0) == 0
                         : ("," + list + ",").find("," + controllers + ",") != std::string::npos;
        if (match) return line.substr(c2 + 1);
    }
    return std::nullopt;
}

}  // namespace

Result<MemoryCgroup> MemoryCgroup::create(uint64_t limit_bytes) {
    namespace fs = std::filesystem;
    // Where to create it, and the files that set its limit and keep it from swapping (no
    // swap to escape to: the limit is met by the OOM killer, as on a host without swap).
    std::string parent, limit_file, no_swap_file, no_swap_value;
    auto v1 = own_cgroup("memory");
    auto v2 = own_cgroup("");
    // cgroup v2 is mounted at /sys/fs/cgroup (pure v2) or /sys/fs/cgroup/unified (hybrid).
    std::string v2_mount = fs::exists("/sys/fs/cgroup/cgroup.controllers")
                               ? "/sys/fs/cgroup"
                               : "/sys/fs/cgroup/unified";
    if (v1 && fs::exists("/sys/fs/cgroup/memory/cgroup.procs")) {
        parent = "/sys/fs/cgroup/memory" + (*v1 == "/" ? "" : *v1);
        limit_file = "memory.limit_in_bytes";
        no_swap_file = "memory.swappiness";
        no_swap_value = "0";
    } else if (v2 && fs::exists(v2_mount + "/cgroup.controllers")) {
        parent = v2_mount + (*v2 == "/" ? "" : *v2);
        std::string enabled = " " + read_text(parent + "/cgroup.subtree_control") + " ";
        for (char& c : enabled)
            if (c == '\n') c = ' ';
        if (enabled.find(" memory ") == std::string::npos) {
            return fail("cgroup v2 memory controller not enabled for children of " + parent);
        }
        limit_file = "memory.max";
        no_swap_file = "memory.swap.max";
        no_swap_value = "0";
    } else {
        return fail("no memory cgroup controller (neither v1 memory nor cgroup v2 mounted)");
    }
    MemoryCgroup cg;
    std::string dir = parent + "/perfbpf-test-" + std::to_string(getpid());
    std::error_code ec;
    if (!fs::create_directory(dir, ec)) {
        return fail("mkdir " + dir + ": " + ec.message());
    }
    cg.dir_ = dir;
    write_text(dir + "/" + no_swap_file, no_swap_value);
    if (!write_text(dir + "/" + limit_file, std::to_string(limit_bytes))) {
        return fail("write " + dir + "/" + limit_file +
                    " failed");  // the destructor removes the directory
    }
    return cg;
}

MemoryCgroup::MemoryCgroup(MemoryCgroup&& o) noexcept : dir_(std::exchange(o.dir_, {})) {}

MemoryCgroup::~MemoryCgroup() {
    if (dir_.empty()) return;
    // The kernel may need a moment to let go of an OOM-killed member.
    for (int i = 0; i < 50 && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i) ::usleep(20000);
}

std::string MemoryCgroup::enter_and_exec(const std::string& command) const {
    return "echo $$ > " + dir_ + "/cgroup.procs && exec " + command;
}

bool MemoryCgroup::add(pid_t pid) const {
    return write_text(dir_ + "/cgroup.procs", std::to_string(pid));
}

}  // namespace perfbpf::selftest
