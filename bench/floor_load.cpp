// The floor configuration of bench/run.sh: attaches bench/floor.bpf.c's empty programs to
// every hook `perfbpf top` attaches on this kernel, once per program top has there, and
// waits for SIGINT or SIGTERM.
//
// The hooks are not listed here. The loader loads the real probe families once, as top
// does, takes every probe they attached and unloads them again, so the floor follows the
// families on any kernel (the wakeup hooks top leaves out here, a tracepoint an older
// kernel lacks) and cannot drift from them.
//
//   sudo build/bench/floor_load [--sample-hz N] [--per-hook] [--once]
// --per-hook loads the empty raw tracepoint program once per hook instead of once for all,
// so the kernel's run statistics give each hook's floor apart (bench/prog_cost.py).
// Prints "floor: N programs: HOOK ..." and then "ready" on stdout once everything is
// attached; --once exits there (for tests). Exit 1 with a reason when a hook has no floor
// program or does not attach.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "collect/families.h"
#include "floor.skel.h"
#include "probes/bpf_object.h"
#include "util/result.h"

namespace perfbpf {
namespace {

// Every probe `perfbpf top` attaches with these options ("raw_tp/sched_switch",
// "perf_event/cpu-clock", ...), one entry per attached program.
Result<std::vector<std::string>> top_hooks(const ProbeOptions& opts) {
    auto shared = SharedMaps::create();
    if (!shared) return std::unexpected(shared.error());
    std::vector<std::string> hooks;
    for (const auto& family : load_probe_families(*shared, opts))
        for (const auto& st : family.probe->status())
            if (st.attached) hooks.push_back(st.probe);
    if (hooks.empty())
        return fail("no probe of perfbpf top attached: nothing to measure a floor for");
    return hooks;
}

// The floor's links; destroyed before the skeletons that own their programs.
struct Floor {
    std::vector<Skeleton<floor_bpf>> skels;
    std::vector<LinkPtr> links;
    std::vector<PerfEventLinks> samplers;
};

Result<floor_bpf*> load_floor(Floor& floor) {
    floor_bpf* raw = floor_bpf__open_and_load();
    if (!raw) return fail_errno("load the floor BPF object", errno);
    floor.skels.emplace_back(raw, floor_bpf__destroy);
    return raw;
}

Result<void> attach_floor(Floor& floor, const std::vector<std::string>& hooks, int sample_hz,
                          bool per_hook) {
    auto first = load_floor(floor);
    if (!first) return std::unexpected(first.error());
    bool first_used = false;
    for (const auto& hook : hooks) {
        // A tp_btf program of ours sits on the same raw tracepoint and is called the same
        // way: the empty raw_tp program is its floor too.
        std::string_view prefix;
        for (std::string_view p : {"raw_tp/", "tp_btf/"})
            if (hook.starts_with(p)) prefix = p;
        if (!prefix.empty()) {
            floor_bpf* skel = *first;
            if (per_hook && first_used) {
                auto own = load_floor(floor);
                if (!own) return std::unexpected(own.error());
                skel = *own;
            }
            first_used = true;
            const std::string tp = hook.substr(prefix.size());
            bpf_link* link =
                bpf_program__attach_raw_tracepoint(skel->progs.floor_raw_tp, tp.c_str());
            if (!link) return fail_errno("attach the floor to " + hook, errno);
            floor.links.emplace_back(link);
        } else if (hook == "perf_event/cpu-clock") {
            auto sampler = attach_perf_event_all_cpus((*first)->progs.floor_perf_event, sample_hz);
            if (!sampler)
                return fail("attach the floor to " + hook + ": " + sampler.error().message);
            floor.samplers.push_back(std::move(*sampler));
        } else {
            return fail("no floor program for " + hook + " (perfbpf top attaches it)");
        }
    }
    return {};
}

int run(int argc, char** argv) {
    ProbeOptions opts;  // top's defaults: what `perfbpf top` without a config attaches
    bool once = false;
    bool per_hook = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--once")) {
            once = true;
        } else if (!std::strcmp(argv[i], "--per-hook")) {
            per_hook = true;
        } else if (!std::strcmp(argv[i], "--sample-hz") && i + 1 < argc) {
            opts.sample_hz = std::atoi(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: floor_load [--sample-hz N] [--per-hook] [--once]\n");
            return 2;
        }
    }
    // Blocked before anything is attached, so a signal that comes early still ends the
    // wait below instead of killing us with links half made (they would go anyway, but
    // the caller sees a clean exit).
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

    auto hooks = top_hooks(opts);
    if (!hooks) {
        std::fprintf(stderr, "floor_load: %s\n", hooks.error().message.c_str());
        return 1;
    }
    Floor floor;
    if (auto r = attach_floor(floor, *hooks, opts.sample_hz, per_hook); !r) {
        std::fprintf(stderr, "floor_load: %s\n", r.error().message.c_str());
        return 1;
    }
    std::printf("floor: %zu programs:", hooks->size());
    for (const auto& h : *hooks) std::printf(" %s", h.c_str());
    std::printf("\nready\n");
    std::fflush(stdout);
    if (once) return 0;
    int sig = 0;
    sigwait(&stop_signals, &sig);
    return 0;
}

}  // namespace
}  // namespace perfbpf

int main(int argc, char** argv) {
    return perfbpf::run(argc, argv);
}
