// Which tuner to consult for what an alert or incident is about, for the daemon's auto-tune
// ([tune] auto). An alert names its tuner in its rule (`tuner = "..."`); an incident names
// one by its resource and object: CPU on a cgroup -> cpu-share, memory on a cgroup ->
// memory, I/O on a device -> block-io. Processes are never named: a process's priority is
// its owner's choice (cpu-share changes nice only for a process `tune --pid` names).
// Pure: labels in, the tuner and its object out.
#pragma once

#include <optional>
#include <string>

#include "detect/alert_rules.h"
#include "detect/incidents.h"
#include "model/series.h"

namespace perfbpf {

struct TuneHint {
    std::string tuner;
    std::string scope_kind;  // cgroup | device | netns | pid (tune/scope.h's names)
    std::string object;      // the cgroup path, device or netns name, pid

    bool operator==(const TuneHint&) const = default;
    auto operator<=>(const TuneHint&) const = default;
};

// The object an alert's or series' labels name, most specific first (a process's series
// also carry its cgroup): pid, device, netns, cgroup. Only objects `tuner` can act on:
// nullopt when the labels name none of its kinds.
std::optional<TuneHint> hint_for_object(const std::string& tuner, const Labels& object);

// An alert whose rule names a tuner, for the object it is about.
std::optional<TuneHint> alert_tune_hint(const Alert& alert);

// An incident: the first of its series, highest peak score first, that the resource map
// above covers.
std::optional<TuneHint> incident_tune_hint(const Incident& incident);

}  // namespace perfbpf
