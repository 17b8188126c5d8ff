#include "support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "collect/cgroup_source.h"
#include "collect/parse/procfs.h"
#include "symbolize/proc_maps.h"
#include "util/files.h"

namespace perfbpf::test {

bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci && (std::strcmp(ci, "true") == 0 || std::strcmp(ci, "1") == 0);
}

std::string missing_root_reason() {
    if (geteuid() != 0) return "kernel tests need root (run: sudo ctest -L kernel)";
    return {};
}

std::string in_netns(const std::string& netns, const std::string& cmd) {
    return "nsenter --net=/run/netns/" + netns + " " + cmd;
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

bool run_steps(const std::vector<std::string>& commands, std::string* error) {
    for (const auto& cmd : commands) {
        int st = 0;
        std::string out = run_command(cmd + " 2>&1", &st);
        if (st != 0) {
            *error = cmd + ": " + out;
            return false;
        }
    }
    return true;
}

std::optional<LoopDevice> LoopDevice::create(size_t size_mib, bool with_filesystem,
                                             std::string* error) {
    auto dev = selftest::LoopDevice::create(static_cast<uint64_t>(size_mib) << 20);
    if (!dev) {
        *error = dev.error().message;
        return std::nullopt;
    }
    LoopDevice d(std::move(*dev));
    if (with_filesystem) {
        int st = 0;
        std::string out = run_command("mkfs.ext4 -q -F " + d.device() + " 2>&1", &st);
        if (st != 0) {
            *error = "mkfs.ext4: " + out;
            return std::nullopt;  // the destructor detaches the device
        }
        std::string mnt = d.dev_.directory() + "/mnt";
        std::filesystem::create_directories(mnt);
        out = run_command("mount " + d.device() + " " + mnt + " 2>&1", &st);
        if (st != 0) {
            *error = "mount: " + out;
            return std::nullopt;
        }
        d.mount_ = mnt;
    }
    return std::optional<LoopDevice>(std::move(d));
}

LoopDevice::LoopDevice(LoopDevice&& o) noexcept
    : dev_(std::move(o.dev_)), mount_(std::exchange(o.mount_, {})) {}

LoopDevice::~LoopDevice() {
    if (!mount_.empty()) run_command("umount " + mount_ + " 2>/dev/null");
}

std::unique_ptr<Collector> family_collector(const std::set<std::string>& families,
                                            uint64_t interval_ns) {
    CollectorOptions o;
    o.interval_ns = interval_ns;
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

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

int wait_for_port(const std::string& path) {
    for (int i = 0; i < 200; ++i) {
        std::ifstream in(path);
        int port = 0;
        if (in >> port && port > 0) return port;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return 0;
}

int bursts(double seconds, int work_us, int sleep_us) {
    timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        selftest::spin_for(work_us / 1e6);
        ::usleep(static_cast<useconds_t>(sleep_us));
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (static_cast<double>(now.tv_sec - start.tv_sec) +
                static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9 >=
            seconds)
            return 0;
    }
}

Result<Child> start_in_cgroups(const std::vector<std::string>& procs_files,
                               const std::function<int()>& fn, int cpu) {
    return Child::start(
        [procs_files, fn] {
            for (const std::string& f : procs_files)
                if (!write_file(f, std::to_string(getpid()))) return 2;
            return fn();
        },
        cpu);
}

std::vector<CgroupHierarchy> cgroup_hierarchies() {
    CgroupRoots roots = CgroupSource::mounted_roots("/proc");
    std::vector<CgroupHierarchy> out;
    if (!roots.v1_cpu.empty()) out.push_back({roots.v1_cpu, "cpu", "cpu"});
    if (!roots.v2.empty()) out.push_back({roots.v2, "", "v2"});
    return out;
}

bool maps_path_containing(int pid, const std::string& name) {
    auto maps = read_proc_maps(pid);
    if (!maps) return false;
    for (const auto& m : *maps)
        if (m.path.find(name) != std::string::npos) return true;
    return false;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string perfbpf_binary() {
    return PERFBPF_BINARY;
}

std::string run_perfbpf(const std::string& args, int* status) {
    return run_command(perfbpf_binary() + " " + args, status);
}

std::unique_ptr<NetnsPair> NetnsPair::create(std::string* error) {
    std::unique_ptr<NetnsPair> n(new NetnsPair());
    const std::string base = "pbev" + std::to_string(::getpid());
    n->a_ = base + "a";
    n->b_ = base + "b";
    const std::string &a = n->a_, &b = n->b_;
    const std::vector<std::string> steps = {
        "ip netns add " + a,
        "ip netns add " + b,
        in_netns(a, "ip link add va type veth peer name vb netns " + b),
        in_netns(a, "ip addr add 10.204.1.1/24 dev va"),
        in_netns(b, "ip addr add 10.204.1.2/24 dev vb"),
        in_netns(a, "ip link set lo up"),
        in_netns(b, "ip link set lo up"),
        in_netns(a, "ip link set va up"),
        in_netns(b, "ip link set vb up"),
    };
    n->created_ = true;
    if (!run_steps(steps, error)) return nullptr;  // the destructor removes them
    return n;
}

NetnsPair::~NetnsPair() {
    if (!created_) return;
    for (const auto& ns : {a_, b_}) run_command("ip netns del " + ns + " 2>/dev/null");
}

uint64_t NetnsPair::inode(const std::string& ns) {
    struct stat st {};
    return ::stat(("/run/netns/" + ns).c_str(), &st) == 0 ? st.st_ino : 0;
}

bool NetnsPair::set(const std::string& ns, const std::string& sysctl, const std::string& value) {
    int st = 0;
    run_command(in_netns(ns, "sh -c 'echo " + value + " > /proc/sys/" + sysctl + "' 2>&1"), &st);
    return st == 0;
}

std::string NetnsPair::get(const std::string& ns, const std::string& sysctl) {
    std::string out = run_command(in_netns(ns, "cat /proc/sys/" + sysctl));
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

uint64_t NetnsPair::tcp_ext(const std::string& ns, const std::string& field) {
    auto m = parse_netstat(run_command(in_netns(ns, "cat /proc/net/netstat")));
    return m["TcpExt:" + field];
}

}  // namespace perfbpf::test
