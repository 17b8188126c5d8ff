// The knob layer: the only code in perfbpf that writes to the kernel. Reads and writes the
// allowlisted knobs of tune/knob.h with their checks, reads every write back, and resolves
// scopes to files (sysctls of a network namespace are opened by a short-lived thread that
// joined it, so the caller's namespace never changes). Roots are parameters, so unit tests
// run it on a fake tree.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "tune/knob.h"
#include "util/result.h"

namespace perfbpf::tune {

struct KnobRoots {
    std::string proc = "/proc";
    std::string sys = "/sys";
    std::string netns_dir = "/run/netns";        // as `ip netns` names namespaces
    std::string cgroup2;                         // cgroup2 mount; "" when there is none
    std::map<std::string, std::string> cgroup1;  // v1 controller -> its hierarchy's mount

    // The standard roots with cgroup mounts from PROC/self/mounts.
    static KnobRoots discover(const std::string& proc = "/proc", const std::string& sys = "/sys");
};

class Knobs {
  public:
    explicit Knobs(KnobRoots roots) : roots_(std::move(roots)) {}

    // Any allowlisted knob or fact. Fails when the knob is not allowlisted, the scope does
    // not fit it, the object is gone, or the file cannot be read or parsed.
    Result<KnobValue> read(const KnobId& id) const;

    // A tuner's change: check_change against the current value (bounds, one step), write,
    // read back. On a read-back that differs, the previous value is written again and the
    // error says what was read. Returns the value read back.
    Result<KnobValue> write(const KnobId& id, std::string_view proposed) const;

    // Puts back a value this tool recorded (an original, or the value before a change it
    // reverts): allowlist, scope and type are checked, bounds and step are not (the value
    // was the system's own). Read back like write().
    Result<KnobValue> restore(const KnobId& id, std::string_view value) const;

    // Who the object is now, so a journal can tell the same loop3 or pid 42 from a new one
    // with the same name: the disk's diskseq (else its dev numbers), the namespace's or
    // cgroup directory's inode, the process's start time. "" for the host. Fails when the
    // object does not exist.
    Result<std::string> identity(const Scope& scope) const;

    // What users see as the knob: "net.ipv4.tcp_rmem", "/sys/block/loop3/queue/read_ahead_kb",
    // "/sys/fs/cgroup/a/cpu.weight", "nice". Root-independent for sysfs and sysctl knobs.
    std::string display_name(const KnobId& id) const;

    const KnobRoots& roots() const { return roots_; }

  private:
    Result<KnobValue> write_checked(const KnobId& id, const KnobSpec& spec, const KnobValue& before,
                                    const std::string& value) const;
    Result<std::string> path_of(const KnobId& id, const KnobSpec& spec) const;
    Result<std::string> read_raw(const KnobId& id, const KnobSpec& spec) const;
    Result<void> write_raw(const KnobId& id, const KnobSpec& spec, const std::string& value) const;
    std::set<int> online_cpus() const;

    KnobRoots roots_;
};

// Runs `fn` on a new thread that joined the network namespace at `netns_path` (setns), and
// returns its result; the calling thread's namespace never changes.
Result<std::string> in_netns(const std::string& netns_path,
                             const std::function<Result<std::string>()>& fn);

}  // namespace perfbpf::tune
