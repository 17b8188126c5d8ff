// Cost of the mem family on its hot path (kmem:rss_stat, once per page fault): runs the
// page-fault loop (tests/fixtures/faultloop) pinned to one CPU, alternately without and
// with the family loaded, and reports the CPU time per 4 KiB page of each and their ratio.
// CPU time of the loop itself is used, not wall time, so preemption by other work on a
// busy machine does not count; alternating spreads slow phases over both sides.
//
//   sudo build/bench/mem_fault_cost FAULTLOOP [ROUNDS]
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "probes/bpf_object.h"
#include "probes/mem_probe.h"

namespace {

// Runs faultloop 64 MiB x 20 rounds on CPU 1 and returns its cpu_ns_per_page.
double run_faultloop(const std::string& path) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(1, &set);
        sched_setaffinity(0, sizeof(set), &set);
        dup2(fds[1], STDOUT_FILENO);
        execl(path.c_str(), path.c_str(), "64", "20", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(fds[1]);
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    waitpid(pid, nullptr, 0);
    auto at = out.find("cpu_ns_per_page ");
    return at == std::string::npos ? -1 : std::atof(out.c_str() + at + 16);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: mem_fault_cost FAULTLOOP [ROUNDS]\n");
        return 2;
    }
    const std::string faultloop = argv[1];
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 9;
    auto shared = perfbpf::SharedMaps::create();
    if (!shared) {
        std::fprintf(stderr, "%s\n", shared.error().message.c_str());
        return 1;
    }
    std::vector<double> without, with;
    for (int r = 0; r < rounds; ++r) {
        without.push_back(run_faultloop(faultloop));
        auto probe = perfbpf::MemProbe::load(*shared, perfbpf::ProbeOptions{});
        if (!probe->active()) {
            std::fprintf(stderr, "mem family not active\n");
            return 1;
        }
        with.push_back(run_faultloop(faultloop));
    }
    const double a = median(without), b = median(with);
    std::printf("faultloop cpu ns per page: without %.0f, with mem family %.0f (median of %d)\n", a,
                b, rounds);
    std::printf("ratio %.3f, +%.0f ns per page fault\n", b / a, b - a);
    return 0;
}
