// `perfbpf doctor`: what this host allows, and every probe: attached or why not.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "collect/families.h"
#include "collect/host_info.h"
#include "probes/kernel_btf.h"
#include "sinks/json_sink.h"

namespace perfbpf::cli {
namespace {

struct DoctorOptions {
    bool json = false;
};

std::string memlock_text(uint64_t v) {
    if (v == UINT64_MAX) return "unlimited";
    return std::to_string(v / 1024) + " KiB";
}

int run_doctor(const DoctorOptions& o) {
    HostInfo host = read_host_info();
    std::vector<ProbeStatus> probes;
    std::string load_error;
    if (!host.privileges.enough()) {
        load_error = host.privileges.missing_message("doctor");
    } else {
        auto shared = SharedMaps::create();
        if (!shared) {
            load_error = shared.error().message;
        } else {
            ProbeOptions po;
            auto families = load_probe_families(*shared, po);
            for (const auto& f : families)
                for (const auto& s : f.probe->status()) probes.push_back(s);
        }
    }
    probes.push_back(ProbeStatus{"procfs", "/proc/pressure", host.psi, false,
                                 host.psi ? "" : "no /proc/pressure (CONFIG_PSI off or psi=0)"});
    bool core_ok = load_error.empty();
    for (const auto& p : probes)
        if (p.core && !p.attached) core_ok = false;

    if (o.json) {
        nlohmann::json j{{"kernel", host.kernel},
                         {"arch", host.arch},
                         {"btf", host.btf},
                         {"tracefs", host.tracefs},
                         {"cgroup_mode", cgroup_mode_name(host.cgroup_mode)},
                         {"cgroup2_mount", host.cgroup2_mount},
                         {"pid_max", host.pid_max},
                         {"memlock_limit_bytes", host.memlock_limit},
                         {"psi", host.psi},
                         {"capabilities",
                          {{"sys_admin", host.privileges.sys_admin},
                           {"bpf", host.privileges.bpf},
                           {"perfmon", host.privileges.perfmon}}},
                         {"error", load_error},
                         {"probes", probe_status_json(probes)},
                         {"ok", core_ok}};
        std::cout << j.dump(2) << std::endl;
        return core_ok ? 0 : 1;
    }
    std::printf("kernel        %s (%s)\n", host.kernel.c_str(), host.arch.c_str());
    std::printf("BTF           %s\n",
                host.btf ? "yes (/sys/kernel/btf/vmlinux)" : "MISSING: CO-RE probes cannot load");
    std::printf("capabilities  CAP_SYS_ADMIN %s, CAP_BPF %s, CAP_PERFMON %s\n",
                host.privileges.sys_admin ? "yes" : "no", host.privileges.bpf ? "yes" : "no",
                host.privileges.perfmon ? "yes" : "no");
    std::printf("tracefs       %s\n", host.tracefs.empty()
                                          ? "not mounted (not needed: raw tracepoints)"
                                          : host.tracefs.c_str());
    std::printf("cgroups       %s%s%s\n", cgroup_mode_name(host.cgroup_mode),
                host.cgroup2_mount.empty() ? "" : ", cgroup2 at ", host.cgroup2_mount.c_str());
    std::printf("pid_max       %u\n", host.pid_max);
    std::printf("memlock       %s (not needed: BPF memory is charged to the cgroup)\n",
                memlock_text(host.memlock_limit).c_str());
    std::printf("PSI           %s\n", host.psi ? "yes" : "no");
    if (!load_error.empty()) std::printf("\nprobes not loaded: %s\n", load_error.c_str());
    std::printf("\n%-7s %-34s %-12s %s\n", "FAMILY", "PROBE", "STATE", "REASON");
    for (const auto& p : probes) {
        const char* state = p.attached  ? "attached"
                            : p.skipped ? "not needed"
                            : p.core    ? "FAILED"
                                        : "unavailable";
        std::printf("%-7s %-34s %-12s %s\n", p.family.c_str(), p.probe.c_str(), state,
                    p.reason.c_str());
    }
    std::printf("\n%s\n", core_ok ? "all core probes attached" : "some core probes did not attach");
    return core_ok ? 0 : 1;
}

}  // namespace

void add_doctor(CLI::App& app) {
    auto opts = std::make_shared<DoctorOptions>();
    auto* cmd = app.add_subcommand(
        "doctor",
        "Check this host: kernel, BTF, capabilities, tracefs, cgroup mode, and whether every\n"
        "probe attaches. Exit status 0 when all core probes attach.");
    cmd->add_flag("--json", opts->json, "JSON output");
    cmd->footer(
        "Examples:\n"
        "  sudo perfbpf doctor                       what this host supports, probe by probe\n"
        "  sudo perfbpf doctor --json | jq '.probes'");
    cmd->callback([opts] { exit_status() = run_doctor(*opts); });
}

}  // namespace perfbpf::cli
