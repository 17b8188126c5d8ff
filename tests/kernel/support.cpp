#include "support.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace perfbpf::test {

bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci && (std::strcmp(ci, "true") == 0 || std::strcmp(ci, "1") == 0);
}

std::string missing_root_reason() {
    if (geteuid() != 0) return "kernel tests need root (run: sudo ctest -L kernel)";
    return {};
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/perfbpf-test.XXXXXX";
    if (mkdtemp(tmpl)) path_ = tmpl;
}

TempDir::~TempDir() {
    if (!path_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
}

std::string run_command(const std::string& cmd, int* status) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) {
        if (status) *status = -1;
        return out;
    }
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int st = pclose(p);
    if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

std::optional<LoopDevice> LoopDevice::create(size_t size_mib, bool with_filesystem,
                                             std::string* error) {
    LoopDevice d;
    char tmpl[] = "/tmp/perfbpf-loop.XXXXXX";
    if (!mkdtemp(tmpl)) {
        *error = std::string("mkdtemp: ") + std::strerror(errno);
        return std::nullopt;
    }
    d.dir_ = tmpl;
    d.backing_ = d.dir_ + "/backing.img";
    int st = 0;
    run_command("truncate -s " + std::to_string(size_mib) + "M " + d.backing_, &st);
    if (st != 0) {
        *error = "truncate failed";
        return std::nullopt;
    }
    std::string dev = run_command("losetup -f --show --direct-io=on " + d.backing_ + " 2>&1", &st);
    while (!dev.empty() && (dev.back() == '\n' || dev.back() == ' ')) dev.pop_back();
    if (st != 0 || dev.rfind("/dev/loop", 0) != 0) {
        *error = "losetup: " + dev;
        return std::nullopt;
    }
    d.device_ = dev;
    if (with_filesystem) {
        std::string out = run_command("mkfs.ext4 -q -F " + d.device_ + " 2>&1", &st);
        if (st != 0) {
            *error = "mkfs.ext4: " + out;
            return std::nullopt;  // destructor detaches the device
        }
        d.mount_ = d.dir_ + "/mnt";
        std::filesystem::create_directories(d.mount_);
        out = run_command("mount " + d.device_ + " " + d.mount_ + " 2>&1", &st);
        if (st != 0) {
            *error = "mount: " + out;
            d.mount_.clear();
            return std::nullopt;
        }
    }
    return std::optional<LoopDevice>(std::move(d));
}

LoopDevice::LoopDevice(LoopDevice&& o) noexcept
    : dir_(std::exchange(o.dir_, {})),
      backing_(std::exchange(o.backing_, {})),
      device_(std::exchange(o.device_, {})),
      mount_(std::exchange(o.mount_, {})) {}

LoopDevice::~LoopDevice() {
    if (!mount_.empty()) run_command("umount " + mount_ + " 2>/dev/null");
    if (!device_.empty()) run_command("losetup -d " + device_ + " 2>/dev/null");
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

std::string LoopDevice::name() const {
    auto slash = device_.rfind('/');
    return slash == std::string::npos ? device_ : device_.substr(slash + 1);
}

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.flush();
    return static_cast<bool>(out);
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

std::optional<MemoryCgroup> MemoryCgroup::create(uint64_t limit_bytes, std::string* error) {
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
            *error = "cgroup v2 memory controller not enabled for children of " + parent;
            return std::nullopt;
        }
        limit_file = "memory.max";
        no_swap_file = "memory.swap.max";
        no_swap_value = "0";
    } else {
        *error = "no memory cgroup controller (neither v1 memory nor cgroup v2 mounted)";
        return std::nullopt;
    }
    MemoryCgroup cg;
    std::string dir = parent + "/perfbpf-test-" + std::to_string(getpid());
    std::error_code ec;
    if (!fs::create_directory(dir, ec)) {
        *error = "mkdir " + dir + ": " + ec.message();
        return std::nullopt;
    }
    cg.dir_ = dir;
    write_text(dir + "/" + no_swap_file, no_swap_value);
    if (!write_text(dir + "/" + limit_file, std::to_string(limit_bytes))) {
        *error = "write " + dir + "/" + limit_file + " failed";
        return std::nullopt;  // the destructor removes the directory
    }
    return std::optional<MemoryCgroup>(std::move(cg));
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

std::unique_ptr<Collector> family_collector(const std::set<std::string>& families,
                                            uint64_t interval_ns) {
    CollectorOptions o;
    o.interval_ns = interval_ns;
    o.probes.interval_ns = interval_ns;
    o.families = families;
    auto c = Collector::create(o);
    EXPECT_TRUE(c) << c.error().message;
    if (!c) return nullptr;
    for (const auto& st : (*c)->probe_status())
        EXPECT_TRUE(st.attached || !st.core) << st.family << " " << st.probe << ": " << st.reason;
    return std::move(*c);
}

const ProcessSample* find_process(const Snapshot& s, int pid) {
    for (const auto& p : s.processes)
        if (p.pid == pid) return &p;
    return nullptr;
}

std::string perfbpf_binary() {
    return PERFBPF_BINARY;
}

std::string fixture(const std::string& name) {
    return std::string(PERFBPF_FIXTURE_BIN_DIR) + "/" + name;
}

std::string run_perfbpf(const std::string& args, int* status) {
    return run_command(perfbpf_binary() + " " + args, status);
}

}  // namespace perfbpf::test
