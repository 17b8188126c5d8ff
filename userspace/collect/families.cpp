#include "collect/families.h"

#include <cstdlib>

#include "collect/block_reader.h"
#include "collect/mem_reader.h"
#include "collect/net_reader.h"
#include "collect/parse/procfs.h"
#include "collect/sched_reader.h"
#include "probes/block_probe.h"
#include "probes/mem_probe.h"
#include "probes/net_probe.h"
#include "probes/sched_probe.h"
#include "util/files.h"

namespace perfbpf {
namespace {

// Stands in for a family whose load was made to fail (PERFBPF_TEST_FAIL_FAMILY).
class FailedFamily : public ProbeFamily {
  public:
    FailedFamily(std::string name, std::string reason)
        : name_(std::move(name)),
          status_{ProbeStatus{name_, "(object)", false, true, std::move(reason), false}} {}
    std::string_view name() const override { return name_; }
    const std::vector<ProbeStatus>& status() const override { return status_; }
    bool active() const override { return false; }
    std::map<std::string, uint64_t> run_counts() const override { return {}; }
    uint64_t run_time_ns() const override { return 0; }

  private:
    std::string name_;
    std::vector<ProbeStatus> status_;
};

bool injected_failure(const std::string& name) {
    static std::set<std::string> failed_once;
    const char* env = std::getenv("PERFBPF_TEST_FAIL_FAMILY");
    if (!env || name != env || failed_once.contains(name)) return false;
    failed_once.insert(name);
    return true;
}

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

// Tasks on the machine now (/proc/loadavg), 0 when unreadable.
uint64_t tasks_now() {
    auto text = read_first_line("/proc/loadavg");
    auto l = text ? parse_loadavg(*text) : std::nullopt;
    return l && l->total > 0 ? static_cast<uint64_t>(l->total) : 0;
}

}  // namespace

std::vector<std::string> probe_family_names() {
    std::vector<std::string> names;
    for (const auto& e : kFamilies) names.emplace_back(e.name);
    return names;
}

LoadedFamily load_probe_family(const std::string& name, const SharedMaps& shared,
                               const ProbeOptions& opts) {
    if (injected_failure(name)) {
        LoadedFamily f;
        f.probe = std::make_unique<FailedFamily>(
            name, "load failed (injected by PERFBPF_TEST_FAIL_FAMILY)");
        return f;
    }
    ProbeOptions o = opts;
    if (!o.threads_at_load) o.threads_at_load = tasks_now();
    for (const auto& e : kFamilies)
        if (name == e.name) return e.load(shared, o);
    LoadedFamily f;
    f.probe = std::make_unique<FailedFamily>(name, "no probe family named '" + name + "'");
    return f;
}

std::vector<LoadedFamily> load_probe_families(const SharedMaps& shared, const ProbeOptions& opts,
                                              const std::set<std::string>& only) {
    std::vector<LoadedFamily> out;
    for (const auto& e : kFamilies) {
        if (!only.empty() && !only.contains(e.name)) continue;
        out.push_back(load_probe_family(e.name, shared, opts));
    }
    return out;
}

}  // namespace perfbpf
