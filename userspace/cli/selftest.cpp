// `perfbpf selftest`: the kernel smoke suite users run on their own kernels.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "collect/host_info.h"
#include "selftest/selftest.h"

namespace perfbpf::cli {
namespace {

struct SelftestOptions {
    bool json = false;
    std::vector<std::string> families;
};

int run_selftest_command(const SelftestOptions& o) {
    HostInfo host = read_host_info();
    if (!host.privileges.enough()) {
        std::fprintf(stderr, "perfbpf: %s\n", host.privileges.missing_message("selftest").c_str());
        return 1;
    }
    auto rows = selftest::run_selftest(o.families);
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
        "Exit status 0 only when every probe this kernel supports passed. Needs root.");
    cmd->add_flag("--json", opts->json, "JSON output");
    std::vector<std::string> families;
    for (const auto& c : selftest::family_checks()) families.push_back(c.family);
    cmd->add_option("-f,--family", opts->families, "Only these families (repeatable)")
        ->check(CLI::IsMember(families));
    cmd->callback([opts] { exit_status() = run_selftest_command(*opts); });
}

}  // namespace perfbpf::cli
