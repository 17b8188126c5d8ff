// The registry of probe families: every family perfbpf loads is listed in families.cpp.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "collect/source.h"
#include "probes/bpf_object.h"
#include "probes/probe_family.h"

namespace perfbpf {

struct LoadedFamily {
    std::unique_ptr<ProbeFamily> probe;
    std::unique_ptr<Source> reader;  // null when the family did not load
};

// Names of all families, in load order.
std::vector<std::string> probe_family_names();

// Loads the families in `only` (all when empty); a family that cannot load is still
// returned, with the reason in its status, so callers can report it.
std::vector<LoadedFamily> load_probe_families(const SharedMaps& shared, const ProbeOptions& opts,
                                              const std::set<std::string>& only = {});

// Loads one family by name (a retry of one that did not load). For tests of that path,
// PERFBPF_TEST_FAIL_FAMILY=NAME in the environment makes the first load of NAME in this
// process fail as if its object could not be loaded.
LoadedFamily load_probe_family(const std::string& name, const SharedMaps& shared,
                               const ProbeOptions& opts);

}  // namespace perfbpf
