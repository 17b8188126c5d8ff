// Cost of each net-family program per run, from the kernel's own BPF run statistics
// (run_time_ns / run_cnt, on while this runs): loads the net family alone, drives a
// loopback TCP transfer in writes of WRITE_BYTES for SECONDS (send/recv hooks, tcp_probe
// on every segment), then UDP datagrams to a closed port (kfree_skb), and prints each
// attached program's runs and ns per run. Build it at two commits to compare hot paths.
//
//   sudo build/bench/net_hook_cost [SECONDS] [WRITE_BYTES]
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "probes/bpf_object.h"
#include "probes/net_probe.h"

namespace {

struct ProgStats {
    std::string name;
    uint64_t runs = 0, ns = 0;
};

// The BPF programs this process holds, found through its own file descriptors.
std::vector<ProgStats> own_programs() {
    std::vector<ProgStats> out;
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return out;
    while (dirent* de = readdir(dir)) {
        char target[64] = {};
        std::string link = std::string("/proc/self/fd/") + de->d_name;
        if (readlink(link.c_str(), target, sizeof(target) - 1) <= 0) continue;
        if (std::string(target) != "anon_inode:bpf-prog") continue;
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(std::atoi(de->d_name), &info, &len) != 0) continue;
        out.push_back({info.name, info.run_cnt, info.run_time_ns});
    }
    closedir(dir);
    return out;
}

// Loopback TCP: one thread writes `chunk`-byte writes for `seconds`, one reads.
uint64_t tcp_transfer(double seconds, size_t chunk) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    if (bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
        return 0;
    std::atomic<uint64_t> received{0};
    std::thread reader([&] {
        int fd = accept(lfd, nullptr, nullptr);
        std::vector<char> buf(256 * 1024);
        ssize_t n;
        while ((n = read(fd, buf.data(), buf.size())) > 0) received += static_cast<uint64_t>(n);
        close(fd);
    });
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return 0;
    std::vector<char> buf(chunk, 'x');
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end)
        if (write(fd, buf.data(), buf.size()) < 0) break;
    close(fd);
    reader.join();
    close(lfd);
    return received;
}

void udp_to_closed_port(int count) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(9);  // discard: nothing listens here
    for (int i = 0; i < count; ++i)
        sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
    const size_t chunk = argc > 2 ? static_cast<size_t>(std::atol(argv[2])) : 4096;
    auto shared = perfbpf::SharedMaps::create();
    if (!shared) {
        std::fprintf(stderr, "net_hook_cost: %s\n", shared.error().message.c_str());
        return 1;
    }
    auto probe = perfbpf::NetProbe::load(*shared, {});
    if (!probe->active()) {
        std::fprintf(stderr, "net_hook_cost: net family did not load: %s\n",
                     probe->load_error().c_str());
        return 1;
    }
    auto stats = perfbpf::enable_run_stats();
    if (!stats) {
        std::fprintf(stderr, "net_hook_cost: %s\n", stats.error().message.c_str());
        return 1;
    }
    const uint64_t bytes = tcp_transfer(seconds, chunk);
    udp_to_closed_port(100000);
    std::printf("TCP %.2f GB in %.1f s, %zu-byte writes; 100000 UDP datagrams to a closed port\n",
                static_cast<double>(bytes) / 1e9, seconds, chunk);
    std::printf("%-28s %12s %10s\n", "program", "runs", "ns/run");
    for (const auto& p : own_programs()) {
        if (!p.runs) continue;
        std::printf("%-28s %12llu %10.1f\n", p.name.c_str(),
                    static_cast<unsigned long long>(p.runs),
                    static_cast<double>(p.ns) / static_cast<double>(p.runs));
    }
    return 0;
}
