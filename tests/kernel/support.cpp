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

Child Child::spawn(const std::vector<std::string>& argv, int cpu) {
    Child c;
    pid_t pid = fork();
    if (pid == 0) {
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            sched_setaffinity(0, sizeof(set), &set);
        }
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    c.pid_ = pid;
    return c;
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), reaped_(o.reaped_), status_(o.status_) {}

Child& Child::operator=(Child&& o) noexcept {
    if (this != &o) {
        kill();
        pid_ = std::exchange(o.pid_, -1);
        reaped_ = o.reaped_;
        status_ = o.status_;
    }
    return *this;
}

Child::~Child() { kill(); }

void Child::kill() {
    if (pid_ > 0 && !reaped_) {
        ::kill(pid_, SIGKILL);
        wait();
    }
}

int Child::wait() {
    if (pid_ <= 0) return -1;
    if (!reaped_) {
        while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
    }
    if (WIFEXITED(status_)) return WEXITSTATUS(status_);
    if (WIFSIGNALED(status_)) return -WTERMSIG(status_);
    return -1;
}

bool Child::exited() {
    if (pid_ <= 0 || reaped_) return true;
    pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) reaped_ = true;
    return reaped_;
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
    // A backing file on tmpfs (the vmtest guest's /tmp) refuses O_DIRECT before 6.6: fall
    // back to a buffered loop device.
    if (st != 0) dev = run_command("losetup -f --show " + d.backing_ + " 2>&1", &st);
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

std::string perfbpf_binary() { return PERFBPF_BINARY; }

std::string fixture(const std::string& name) {
    return std::string(PERFBPF_FIXTURE_BIN_DIR) + "/" + name;
}

std::string run_perfbpf(const std::string& args, int* status) {
    return run_command(perfbpf_binary() + " " + args, status);
}

}  // namespace perfbpf::test
