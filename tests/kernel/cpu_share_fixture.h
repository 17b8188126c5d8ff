// The cpu-share tuner's test workload, shared by tests/kernel/tune_cpu_share_test.cpp
// (`perfbpf tune`) and daemon_tune_test.cpp (the daemon's auto-tune): cgroups of ours
// with a bursty sleeper beside a CPU hog, in the v1 cpu hierarchy and in cgroup v2, and the
// scheduler's own count of the sleeper's waits (/proc/PID/schedstat).
#pragma once

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support.h"
#include "util/files.h"

namespace perfbpf::test {

inline std::string read_trimmed(const std::string& path) {
    return std::string(trim(read_file(path).value_or("?")));
}

// Whether `file` (cgroup.controllers or cgroup.subtree_control) lists `controller`.
inline bool lists(const std::string& file, const std::string& controller) {
    std::string text = " " + read_file(file).value_or("") + " ";
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text.find(" " + controller + " ") != std::string::npos;
}

// A process's on-CPU time and run-queue wait so far, as the scheduler counts them
// (/proc/PID/schedstat: on-CPU ns, run-queue wait ns, timeslices): a measure independent of
// perfbpf's probes.
inline std::optional<std::pair<uint64_t, uint64_t>> schedstat(pid_t pid) {
    auto text = read_file("/proc/" + std::to_string(pid) + "/schedstat");
    unsigned long long oncpu = 0, wait = 0;
    if (!text || std::sscanf(text->c_str(), "%llu %llu", &oncpu, &wait) != 2) return std::nullopt;
    return std::pair{uint64_t(oncpu), uint64_t(wait)};
}

inline double now_s() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

// A process's on-CPU time and run-queue wait, ms per second, while `during` runs; -1 when
// they could not be read.
struct SchedRates {
    double oncpu_ms_per_s = -1, wait_ms_per_s = -1;
};
inline SchedRates sched_rates(pid_t pid, const std::function<void()>& during) {
    const auto s0 = schedstat(pid);
    const double t0 = now_s();
    during();
    const auto s1 = schedstat(pid);
    const double secs = now_s() - t0;
    if (!s0 || !s1 || secs <= 0) return {};
    return {double(s1->first - s0->first) / 1e6 / secs,
            double(s1->second - s0->second) / 1e6 / secs};
}

// A test root under our own cgroup in one hierarchy with two children, hog and lat;
// removed (children first) on destruction. `error` says why it could not be made.
struct Tree {
    std::string path, hog_path, lat_path;  // inside the hierarchy
    selftest::CgroupDir root, hog, lat;
    std::string error;

    Tree(const CgroupHierarchy& h, const std::string& label, bool enable_cpu) {
        auto own = selftest::own_cgroup(h.controller);
        if (!own) {
            error = "this process is in no " + h.name + " cgroup";
            return;
        }
        const std::string base = *own == "/" ? "" : *own;
        const std::string tag = "perfbpf-cpushare-" + std::to_string(getpid()) + "-" + label;
        auto r = selftest::CgroupDir::create(h.root + base, tag);
        if (!r) {
            error = r.error().message;
            return;
        }
        root = std::move(*r);
        // Ten times the default weight for the test root against the rest of the machine,
        // so that other work on the CPU (builds running beside the tests) takes little of
        // it and the waits are the hog's doing.
        const std::string boost = h.name == "cpu" ? "cpu.shares" : enable_cpu ? "cpu.weight" : "";
        if (!boost.empty())
            if (auto w =
                    write_file(root.dir() + "/" + boost, boost == "cpu.shares" ? "10240" : "1000");
                !w) {
                error = w.error().message;
                return;
            }
        if (enable_cpu)
            if (auto w = write_file(root.dir() + "/cgroup.subtree_control", "+cpu"); !w) {
                error = w.error().message;
                return;
            }
        for (auto [dir, name] : {std::pair{&hog, "hog"}, std::pair{&lat, "lat"}}) {
            auto c = selftest::CgroupDir::create(root.dir(), name);
            if (!c) {
                error = c.error().message;
                return;
            }
            *dir = std::move(*c);
        }
        path = base + "/" + tag;
        hog_path = path + "/hog";
        lat_path = path + "/lat";
    }
    ~Tree() {
        lat.remove();
        hog.remove();
        root.remove();
    }
};

// One way the two cgroups can be arranged here: `knob_tree` holds the weight (cpu.shares in
// the v1 cpu hierarchy, cpu.weight in v2); the processes join it and, on a hybrid host's
// v2 case, `sample_tree` too (the samples are then v2 ones and the weight is in v1).
struct Case {
    std::string name, key, original, raised, hog;  // hog: the hog's weight (cgroup_hog_ratio)
    std::unique_ptr<Tree> knob_tree, sample_tree;
    std::string skip;

    std::string weight(const selftest::CgroupDir& d) const {
        return read_trimmed(d.dir() + "/" + key);
    }
    std::vector<std::string> procs(selftest::CgroupDir Tree::*dir) const {
        std::vector<std::string> out = {((*knob_tree).*dir).dir() + "/cgroup.procs"};
        if (sample_tree) out.push_back(((*sample_tree).*dir).dir() + "/cgroup.procs");
        return out;
    }
    std::string filter() const {
        return knob_tree->path + (sample_tree ? "," + sample_tree->path : "");
    }
};

inline std::vector<Case> cases() {
    std::vector<Case> out;
    std::optional<CgroupHierarchy> v1, v2;
    for (const auto& h : cgroup_hierarchies()) (h.name == "v2" ? v2 : v1) = h;
    if (v1) {
        out.push_back({"v1 cpu",
                       "cpu.shares",
                       "1024",
                       "4096",
                       "16384",
                       std::make_unique<Tree>(*v1, "v1", false),
                       {},
                       ""});
    }
    if (v2) {
        auto own = selftest::own_cgroup("");
        const std::string control =
            v2->root + (own && *own != "/" ? *own : "") + "/cgroup.subtree_control";
        if (lists(control, "cpu")) {
            out.push_back({"v2",
                           "cpu.weight",
                           "100",
                           "400",
                           "1600",
                           std::make_unique<Tree>(*v2, "v2", true),
                           {},
                           ""});
        } else if (v1) {
            // Hybrid: the cpu controller is on v1; the v2 samples name their v1 cpu cgroup.
            out.push_back({"v2 (weight in v1 cpu)", "cpu.shares", "1024", "4096", "16384",
                           std::make_unique<Tree>(*v1, "hybrid", false),
                           std::make_unique<Tree>(*v2, "hybrid", false), ""});
        } else {
            Case c;
            c.name = "v2";
            c.skip = "cgroup v2 does not give its children the cpu controller (" + control + ": '" +
                     read_trimmed(control) + "') and no v1 cpu hierarchy is mounted";
            out.push_back(std::move(c));
        }
    }
    return out;
}

// cgroup_hog_ratio: why the cgroup tests give the hog sixteen times the sleeper's weight and
// the sleeper 100 us bursts with 1.3 ms sleeps (about 7 % of a CPU): the sleeper must wait
// by arithmetic, not by the scheduler's latency rules. Before the raise its share while both
// run is 1/17 (5.9 %), under what it needs, so it queues behind the hog; the tuner's raise
// (x4) gives it 4/20 (20 %), more than it needs, and it takes only the 1-2 % it lacked from
// the hog (the guard allows a tenth). Measured on 2026-12-06 (v1 cpu.shares, schedstat, CPU 0,
// these tests alone and beside two CPU hogs outside the tree): 400-549 ms/s waiting at
// 50-54 ms/s on-CPU before, 89-221 ms/s at 69-78 raised (the latency rules' waits vary by
// the hour); the tuner's own windows 409-519 -> 83-184 ms/s, the hog's CPU 0.94-0.95 ->
// 0.90-0.92 CPUs. The earlier arrangement (the hog at four
// times, 500 us bursts in 2.5 ms: a fifth of a CPU at a share of a fifth) left the sleeper at
// its share's edge: under EEVDF it then waited 112-195 ms/s before and 108-114 ms/s raised,
// so on some days the raise bought nothing, the tuner rightly reverted it and the tests
// failed (CI, 2026-12-06).
inline int cgroup_sleeper(double seconds) {
    return bursts(seconds, 100, 1300);
}

// Whether the scheduler made the sleeper wait clearly beyond what the cpu-share tuner needs
// (10 ms/s and a quarter of its on-CPU time; here 1.5 times both, since the tuner judges
// from its own window, which differs from schedstat's by run). When it does not, there is
// nothing to tune: the tests say so, a failure under CI=true.
inline bool starved(const SchedRates& r) {
    return r.wait_ms_per_s >= 15 && r.wait_ms_per_s >= r.oncpu_ms_per_s * 0.375;
}

inline std::string not_starved(const std::string& tree, const SchedRates& r) {
    return tree + ": this scheduler does not starve the sleeper (" +
           std::to_string(r.wait_ms_per_s) + " ms/s waiting, " + std::to_string(r.oncpu_ms_per_s) +
           " ms/s on-CPU): nothing to tune";
}

}  // namespace perfbpf::test
