// `perfbpf selftest`: the kernel smoke suite users run on their own kernels.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/finite.h"
#include "collect/host_info.h"
#include "selftest/selftest.h"

namespace perfbpf::cli {
namespace {

struct SelftestOptions {
    bool json = false;
    std::vector<std::string> families;
    std::vector<std::string> skip;
    double interval_s = 1;
};

constexpr const char* kOomNotice =
    "the mem check makes a real OOM kill in a 32 MiB memory cgroup of its own (the kernel "
    "logs it; --skip oom leaves it out)";

int run_selftest_command(const SelftestOptions& o) {
    HostInfo host = read_host_info();
    if (!host.privileges.enough()) {
        std::fprintf(stderr, "perfbpf: %s\n", host.privileges.missing_message("selftest").c_str());
        return 1;
    }
    const selftest::Selection selection{o.families, {o.skip.begin(), o.skip.end()}};
    const bool oom = selection.runs("mem") && !selection.skip.contains(selftest::kOomPart);
    if (oom && !o.json) std::printf("note: %s\n", kOomNotice);
    auto rows =
        selftest::run_selftest(selection, static_cast<uint64_t>(std::llround(o.interval_s * 1e9)));
    bool ok = selftest::all_passed(rows);
    if (o.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : rows)
            out.push_back({{"family", r.family},
                           {"probe", r.probe},
                           {"result", r.outcome == selftest::Outcome::fail
                                          ? "fail"
                                          : selftest::outcome_name(r.outcome)},
                           {"events", r.events},
                           {"detail", r.reason}});
        nlohmann::json doc{{"kernel", host.kernel},
                           {"cgroup_mode", cgroup_mode_name(host.cgroup_mode)},
                           {"ok", ok},
                           {"oom_kill", oom},
                           {"results", out}};
        std::cout << doc.dump(2) << std::endl;
    } else {
        std::printf("kernel %s, cgroups %s\n\n", host.kernel.c_str(),
                    cgroup_mode_name(host.cgroup_mode));
        std::printf("%-7s %-32s %-6s %10s  %s\n", "FAMILY", "PROBE", "RESULT", "EVENTS", "DETAIL");
        for (const auto& r : rows)
            std::printf("%-7s %-32s %-6s %10llu  %s\n", r.family.c_str(), r.probe.c_str(),
                        selftest::outcome_name(r.outcome),
                        static_cast<unsigned long long>(r.events), r.reason.c_str());
        std::printf("\n%s\n", ok ? "selftest passed" : "selftest FAILED");
    }
    return ok ? 0 : 1;
}

}  // namespace

void add_selftest(CLI::App& app) {
    auto opts = std::make_shared<SelftestOptions>();
    auto* cmd = app.add_subcommand(
        "selftest",
        "Kernel smoke test: load every probe family, run a small workload of perfbpf's own\n"
        "for each (CPU contention, direct I/O on a loop device it creates, a loopback TCP\n"
        "transfer, a growing process) and check the family saw it, for the right pids.\n"
        "The mem check makes a real OOM kill: a child of its own is killed in a 32 MiB\n"
        "memory cgroup it creates (the kernel logs the kill as any other); --skip oom leaves\n"
        "it out. Exit status 0 only when every probe this kernel supports passed. Needs root.");
    cmd->add_flag("--json", opts->json, "JSON output (\"oom_kill\": whether the OOM kill ran)");
    cmd->add_option("-i,--interval", opts->interval_s,
                    "Seconds per collection interval, 0.05 to 10 (default 1); each check follows\n"
                    "its workload over as many intervals as it takes (30 s at most)")
        ->type_name("SECONDS")
        ->check(finite_number())
        ->check(CLI::Range(0.05, 10.0).description(""));
    cmd->add_option("-f,--family", opts->families,
                    "Only these families (repeatable, or comma-separated)")
        ->type_name("FAMILY")
        ->delimiter(',')
        ->check(CLI::IsMember(selftest::family_names()));
    cmd->add_option("--skip", opts->skip,
                    "Leave out a family (sched, block, net, mem) or oom, the mem check's OOM "
                    "kill (repeatable, or comma-separated: --skip oom,net)")
        ->type_name("PART")
        ->delimiter(',')
        ->check(CLI::IsMember(selftest::skippable_parts()));
    cmd->footer(
        "Examples:\n"
        "  sudo perfbpf selftest                     every family, with the OOM kill\n"
        "  sudo perfbpf selftest --skip oom --json   no OOM kill; JSON\n"
        "  sudo perfbpf selftest -f block -f net     two families only");
    cmd->callback([opts] { exit_status() = run_selftest_command(*opts); });
}

}  // namespace perfbpf::cli
