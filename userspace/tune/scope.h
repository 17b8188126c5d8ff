// What a knob belongs to: the host, a network namespace, a block device, a cgroup or a
// process. Tuners name scopes; the knob layer resolves them to files and namespaces; the
// CLI's --netns/--device/--cgroup filters select them.
#pragma once

#include "util/enum_table.h"

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace perfbpf::tune {

enum class ScopeKind { host, netns, device, cgroup, pid };

struct Scope {
    ScopeKind kind = ScopeKind::host;
    // host: ""; netns: a name under /run/netns ("blue"); device: a disk's name ("loop3");
    // cgroup: the path inside its hierarchy ("/perfbpf-test/a"); pid: the decimal pid.
    std::string name;

    static Scope host() { return {}; }
    static Scope netns(std::string n) { return {ScopeKind::netns, std::move(n)}; }
    static Scope device(std::string n) { return {ScopeKind::device, std::move(n)}; }
    static Scope cgroup(std::string path) { return {ScopeKind::cgroup, std::move(path)}; }
    static Scope pid(int pid) { return {ScopeKind::pid, std::to_string(pid)}; }

    auto operator<=>(const Scope&) const = default;
};

inline constexpr auto kScopeKindNames =
    enum_table<ScopeKind>("scope kind", {{ScopeKind::host, "host"},
                                         {ScopeKind::netns, "netns"},
                                         {ScopeKind::device, "device"},
                                         {ScopeKind::cgroup, "cgroup"},
                                         {ScopeKind::pid, "pid"}});
inline const char* scope_kind_name(ScopeKind k) {
    return kScopeKindNames.name(k);
}
// "host", "netns:blue", "device:loop3", "cgroup:/a/b", "pid:42"
std::string to_string(const Scope& s);

// The objects a run may touch. An empty filter allows everything; once any object is named
// (--netns, --device, --cgroup, --pid), only knobs of the named objects are allowed: naming
// a device does not also allow host-wide knobs.
struct ScopeFilter {
    std::vector<std::string> netns, devices, cgroups, pids;

    bool empty() const {
        return netns.empty() && devices.empty() && cgroups.empty() && pids.empty();
    }
    bool allows(const Scope& s) const;
};

}  // namespace perfbpf::tune
