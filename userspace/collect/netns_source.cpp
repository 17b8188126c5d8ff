#include "collect/netns_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <ctime>

#include "collect/parse/netns_deltas.h"
#include "collect/parse/procfs.h"
#include "collect/tcp_info_reader.h"
#include "util/files.h"
#include "util/netns.h"

namespace perfbpf {
namespace {

// Kernels that give the initial namespaces fixed inode numbers (6.18 does, 6.1 allocates
// them at boot) number the initial network namespace so; namespaces made later are
// numbered from 0xF0000000 up, so nothing else can have it.
constexpr uint64_t kInitialNetnsInode = 0xEFFFFFF9;

uint64_t inode_of(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

// Reads /proc/thread-self/net/netstat from a thread that joined the namespace bound at
// `ns_path`; the namespace change ends with the thread.
Result<std::string> read_netstat_inside(const std::string& ns_path) {
    Result<std::string> out = fail("not read");
    auto joined = run_in_netns(ns_path, [&] { out = read_file("/proc/thread-self/net/netstat"); });
    if (!joined) return std::unexpected(joined.error());
    return out;
}

// A sock_diag socket made in the namespace at `ns_path`, which must be namespace `ino` (a
// process's may have moved on).
Result<TcpDiag> open_tcp_diag_inside(const std::string& ns_path, uint64_t ino) {
    Result<TcpDiag> out = fail("not opened");
    auto joined = run_in_netns(ns_path, [&] {
        if (inode_of("/proc/thread-self/ns/net") != ino) {
            out = fail(ns_path + " is no longer the namespace it was");
            return;
        }
        out = open_tcp_diag();
    });
    if (!joined) return std::unexpected(joined.error());
    return out;
}

uint64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

}  // namespace

NetnsSource::NetnsSource(std::string proc_root, std::string run_netns_dir,
                         bool rcvbuf_grow_attached)
    : proc_root_(std::move(proc_root)),
      run_netns_(std::move(run_netns_dir)),
      rcvbuf_grow_attached_(rcvbuf_grow_attached),
      host_inode_(inode_of(proc_root_ + "/1/ns/net")) {}

std::map<uint64_t, std::string> NetnsSource::named() const {
    std::map<uint64_t, std::string> out;
    DIR* dir = ::opendir(run_netns_.c_str());
    if (!dir) return out;
    while (dirent* de = ::readdir(dir)) {
        if (de->d_name[0] == '.') continue;
        if (uint64_t ino = inode_of(run_netns_ + "/" + de->d_name)) out.emplace(ino, de->d_name);
    }
    ::closedir(dir);
    return out;
}

Result<std::string> NetnsSource::read_netstat(const NetnsSample& ns,
                                              const std::string& named_path) const {
    if (ns.pid) {
        const std::string pid_dir = proc_root_ + "/" + std::to_string(ns.pid);
        // The process may have exited or moved since its namespace was read.
        if (inode_of(pid_dir + "/ns/net") == ns.inode) {
            auto text = read_file(pid_dir + "/net/netstat");
            if (text && inode_of(pid_dir + "/ns/net") == ns.inode) return text;
        }
    }
    if (!named_path.empty()) return read_netstat_inside(named_path);
    return fail(ns.pid ? "its process " + std::to_string(ns.pid) + " left it"
                       : "no process or /run/netns name known for it");
}

void NetnsSource::collect(SnapshotBuilder& builder) {
    const auto names = named();
    if (host_inode_) builder.netns(host_inode_);
    for (const auto& [ino, _] : names) builder.netns(ino);
    for (const auto& [pid, p] : builder.processes()) {
        if (!p.netns) continue;
        NetnsSample& ns = builder.netns(p.netns);
        ns.processes++;
        if (!p.exited && (!ns.pid || pid < ns.pid)) ns.pid = pid;
    }
    std::map<uint64_t, std::map<std::string, uint64_t>> now;
    for (auto& [ino, ns] : builder.netns_samples()) {
        if (!ino) continue;  // drops whose namespace could not be told
        auto name = names.find(ino);
        if (ino == host_inode_ || ino == kInitialNetnsInode)
            ns.name = "host";
        else if (name != names.end())
            ns.name = name->second;
        if (rcvbuf_grow_attached_) {
            ns.rcvbuf_grow = ns.rcvbuf_grow.value_or(0);
            ns.rcvbuf_grow_at_max = ns.rcvbuf_grow_at_max.value_or(0);
            ns.rcvbuf_grow_locked = ns.rcvbuf_grow_locked.value_or(0);
        }
        auto text = read_netstat(ns, name == names.end() ? "" : run_netns_ + "/" + name->second);
        if (!text) {
            ns.netstat_unavailable = text.error().message;
            continue;
        }
        auto counters = parse_netstat(*text, kNetnsNetstatKeys);
        auto before = prev_.find(ino);
        apply_netstat(counters, before == prev_.end() ? decltype(counters){} : before->second, ns);
        now.emplace(ino, std::move(counters));
    }
    prev_ = std::move(now);
    read_tcp_chrono(builder.netns_samples(), names);
}

std::string NetnsSource::netns_path(uint64_t ino, const NetnsSample& ns,
                                    const std::string& named) const {
    if (!named.empty()) return run_netns_ + "/" + named;
    if (ino == host_inode_) return proc_root_ + "/1/ns/net";
    if (ns.pid) return proc_root_ + "/" + std::to_string(ns.pid) + "/ns/net";
    return "";
}

void NetnsSource::read_tcp_chrono(std::map<uint64_t, NetnsSample>& samples,
                                  const std::map<uint64_t, std::string>& names) {
    const uint64_t now_ns = monotonic_ns();
    // A sweep has the kernel walk its TCP hash for every namespace: at a 0.1 s interval it
    // was a quarter of the daemon's own CPU with 4 sockets on the host (docs/daemon_cost.md).
    // Its amounts are growths of the sockets' counters since the last sweep, so sweeping
    // about once a second loses nothing: the intervals between add to the next sweep's.
    const uint64_t last_sweep_ns = last_sweep_ns_;
    if (!once_per_second(last_sweep_ns_, now_ns)) {
        for (auto& [ino, ns] : samples)
            if (sock_diag_.contains(ino)) ns.tcp_info_available = true;
        return;
    }
    std::map<uint64_t, std::vector<TcpFlow>> sweep;
    std::map<uint64_t, TcpDiag> kept;
    for (auto& [ino, ns] : samples) {
        if (!ino) continue;
        auto fd = sock_diag_.find(ino);
        if (fd == sock_diag_.end()) {
            auto name = names.find(ino);
            const std::string path = netns_path(ino, ns, name == names.end() ? "" : name->second);
            if (path.empty()) {
                ns.tcp_info_unavailable = "no process or /run/netns name known for it";
                continue;
            }
            auto opened = open_tcp_diag_inside(path, ino);
            if (!opened) {
                ns.tcp_info_unavailable = opened.error().message;
                continue;
            }
            fd = sock_diag_.emplace(ino, std::move(*opened)).first;
        }
        auto flows = dump_tcp_flows(fd->second);
        if (!flows) {
            // Made anew next time: a dump that failed half way may have left replies queued.
            ns.tcp_info_unavailable = flows.error().message;
            continue;
        }
        sweep.emplace(ino, std::move(*flows));
        kept.emplace(ino, std::move(fd->second));
    }
    sock_diag_ = std::move(kept);
    const uint64_t interval_us = last_sweep_ns ? (now_ns - last_sweep_ns) / 1000 : 0;
    for (const auto& [ino, amounts] : chrono_.add_sweep(sweep, interval_us))
        apply_tcp_chrono(amounts, samples[ino]);
}

}  // namespace perfbpf
