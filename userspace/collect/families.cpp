#include "collect/families.h"

#include "collect/block_reader.h"
#include "collect/mem_reader.h"
#include "collect/net_reader.h"
#include "collect/sched_reader.h"
#include "probes/block_probe.h"
#include "probes/mem_probe.h"
#include "probes/net_probe.h"
#include "probes/sched_probe.h"

namespace perfbpf {
namespace {

template <class Probe, class Reader>
LoadedFamily load_family(const SharedMaps& shared, const ProbeOptions& opts) {
    LoadedFamily f;
    auto probe = Probe::load(shared, opts);
    if (probe->active()) f.reader = std::make_unique<Reader>(*probe);
    f.probe = std::move(probe);
    return f;
}

struct Entry {
    const char* name;
    LoadedFamily (*load)(const SharedMaps&, const ProbeOptions&);
};

// The whole set, one line per family.
const Entry kFamilies[] = {
    {"sched", &load_family<SchedProbe, SchedReader>},
    {"block", &load_family<BlockProbe, BlockReader>},
    {"net", &load_family<NetProbe, NetReader>},
    {"mem", &load_family<MemProbe, MemReader>},
};

}  // namespace

std::vector<std::string> probe_family_names() {
    std::vector<std::string> names;
    for (const auto& e : kFamilies) names.emplace_back(e.name);
    return names;
}

std::vector<LoadedFamily> load_probe_families(const SharedMaps& shared, const ProbeOptions& opts,
                                              const std::set<std::string>& only) {
    std::vector<LoadedFamily> out;
    for (const auto& e : kFamilies) {
        if (!only.empty() && !only.contains(e.name)) continue;
        out.push_back(e.load(shared, opts));
    }
    return out;
}

}  // namespace perfbpf
