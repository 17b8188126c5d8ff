// Typed knobs and the allowlist: which files and process settings `perfbpf tune` may
// change, with each one's value type, bounds and largest single step. Pure: no files here
// (tune/knobs.h reads and writes them), so every rule is unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tune/scope.h"
#include "tune/unit.h"
#include "util/enum_table.h"
#include "util/result.h"

namespace perfbpf::tune {

enum class KnobKind {
    sysctl,       // /proc/sys/KEY (dots for slashes), host or netns scope
    block_queue,  // /sys/block/DEV/queue/KEY, device scope
    cgroup,       // CGROUP_MOUNT/PATH/KEY (v2, or the v1 hierarchy of the key's controller)
    nice,         // setpriority of every thread of a process, pid scope
    affinity,     // sched_setaffinity of every thread of a process, pid scope
};
inline constexpr auto kKnobKindNames =
    enum_table<KnobKind>("knob kind", {{KnobKind::sysctl, "sysctl"},
                                       {KnobKind::block_queue, "block_queue"},
                                       {KnobKind::cgroup, "cgroup"},
                                       {KnobKind::nice, "nice"},
                                       {KnobKind::affinity, "affinity"}});
inline const char* knob_kind_name(KnobKind k) {
    return kKnobKindNames.name(k);
}

// One knob of one object: what a tuner asks about and proposes to change, and the key the
// journal records originals under.
struct KnobId {
    KnobKind kind = KnobKind::sysctl;
    std::string key;  // "net.ipv4.tcp_rmem", "read_ahead_kb", "cpu.weight", "nice", "cpus"
    Scope scope;

    auto operator<=>(const KnobId&) const = default;
};
std::string to_string(const KnobId& id);  // "block_queue read_ahead_kb @ device:loop3"

enum class ValueType {
    integer,     // "128"
    int_list,    // "4096 131072 6291456" (each field bounded; ascending when required)
    int_or_max,  // "1073741824" or "max" (cgroup v2 limits)
    choice,      // one of `choices`; a file that lists the options marks the current one
                 // with brackets ("none [mq-deadline] kyber")
    cpu_list,    // "0-3,6": online CPUs only, never empty
};

struct KnobSpec {
    KnobKind kind;
    std::string key;
    ValueType type = ValueType::integer;
    bool writable = true;  // false: a fact tuners read (rotational, max_sectors_kb)
    // sysctl: the key exists in every network namespace (else host scope only).
    bool per_netns = false;
    // cgroup: "" for cgroup v2, else the v1 controller whose hierarchy holds the file.
    std::string cgroup_controller;
    int64_t min = 0, max = 0;  // bounds of every integer (field); unused for choice/cpu_list
    // Largest single step: a new value within [old / ratio, max(old, ratio_ref_min) * ratio]
    // (when ratio > 0) and within old ± abs (when abs > 0).
    double max_step_ratio = 0;
    int64_t max_step_abs = 0;
    int64_t ratio_ref_min = 1;
    // Values are rounded down to a multiple of this before writing (what the kernel keeps:
    // read_ahead_kb in pages, memory.high in pages), so the read-back matches.
    int64_t granularity = 1;
    size_t fields = 1;       // int_list: how many
    bool ascending = false;  // int_list: min <= default <= max
    std::vector<std::string> choices;
    std::string description;
    Unit unit = Unit::none;  // of every integer (field), for text output
};

// The allowlist: every knob tune may read or write. nullptr when (kind, key) is not in it.
const KnobSpec* find_knob_spec(KnobKind kind, std::string_view key);
const std::vector<KnobSpec>& knob_specs();

// A knob's value as read: `value` normalized (single spaces; a choice file's bracketed
// entry), `choices` the options a choice file lists.
struct KnobValue {
    std::string value;
    std::vector<std::string> choices;
    bool operator==(const KnobValue&) const = default;
};

// Normalizes raw file text for the spec's type ("4096\t131072\t6291456\n" -> "4096 131072
// 6291456"; "none [mq-deadline] kyber\n" -> "mq-deadline" with the three choices).
Result<KnobValue> parse_knob_value(const KnobSpec& spec, std::string_view raw);

// Checks that `proposed` may replace `current`: writable, the right type, in bounds, one
// allowed step, an available choice, online CPUs (`online_cpus` for cpu_list). Returns the
// value to write (normalized and rounded to the granularity) or why not, naming the knob.
Result<std::string> check_change(const KnobSpec& spec, const KnobValue& current,
                                 std::string_view proposed, const std::set<int>& online_cpus = {});

// Integer fields of an integer, int_list or int_or_max value ("max" -> INT64_MAX).
Result<std::vector<int64_t>> parse_int_fields(std::string_view value);
// {4096, 16384, 65536} -> "4096 16384 65536" (the normalized form of an int_list).
std::string format_int_fields(const std::vector<int64_t>& fields);
// "0-3,6" <-> {0,1,2,3,6}
Result<std::set<int>> parse_cpu_list(std::string_view text);
std::string format_cpu_list(const std::set<int>& cpus);

// Whether a scope kind fits a knob (sysctl: host, or netns when per_netns; block_queue:
// device; cgroup: cgroup; nice/affinity: pid).
Result<void> check_scope(const KnobSpec& spec, const Scope& scope);

}  // namespace perfbpf::tune
