#include "model/series_restore.h"

#include <map>
#include <string>
#include <type_traits>

#include "model/catalogue.h"
#include "model/series_extract.h"

namespace perfbpf {
namespace {

// One object's series: name -> sample (map fields: name -> key -> count).
struct ObjectSeries {
    Labels labels;
    std::map<std::string, const SeriesSample*> by_name;
    std::map<std::string, CountMap> maps;
};

std::string label(const Labels& labels, std::string_view name) {
    for (const auto& [k, v] : labels)
        if (k == name) return v;
    return {};
}

uint64_t to_u64(const std::string& s) {
    try {
        return std::stoull(s);
    } catch (...) {
        return 0;
    }
}

// Fills the metric fields of s from `obj`; true when any was there (for nested structs'
// presence).
template <Catalogued S>
bool fill(S& s, const ObjectSeries& obj, const std::string& prefix) {
    bool any = false;
    for (const auto& f : fields<S>()) {
        const std::string name = prefix.empty() ? std::string(f.name) : joined_name(prefix, f.name);
        visit_field(f, s, [&](auto& v) {
            using T = std::remove_cvref_t<decltype(v)>;
            if constexpr (Catalogued<T>) {
                if (fill(v, obj, name)) {
                    any = true;
                    if constexpr (std::is_same_v<T, Psi>) v.available = true;
                    if constexpr (std::is_same_v<T, CgroupMemory>) v.source = "history";
                }
            } else if constexpr (std::is_same_v<T, std::optional<PsiLine>>) {
                PsiLine line;
                if (fill(line, obj, name)) {
                    v = line;
                    any = true;
                }
            } else if constexpr (std::is_same_v<T, CountMap>) {
                if (auto it = obj.maps.find(name); it != obj.maps.end()) {
                    v = it->second;
                    any = true;
                }
            } else if constexpr (std::is_array_v<T>) {
                for (size_t i = 0; i < std::extent_v<T>; ++i)
                    if (auto it = obj.by_name.find(joined_name(name, std::to_string(i)));
                        it != obj.by_name.end()) {
                        v[i] = it->second->value;
                        any = true;
                    }
            } else if (metric_kind(f.kind)) {
                auto it = obj.by_name.find(name);
                if (it == obj.by_name.end()) return;
                any = true;
                const SeriesSample& smp = *it->second;
                if constexpr (std::is_same_v<T, Log2Histogram>)
                    v = smp.hist;
                else if constexpr (std::is_same_v<T, std::optional<uint64_t>>)
                    v = static_cast<uint64_t>(smp.value);
                else if constexpr (std::is_arithmetic_v<T>)
                    v = static_cast<T>(smp.value);
            }
        });
    }
    return any;
}

// Series of map fields -> the label naming the map's keys.
const std::map<std::string, std::string, std::less<>>& map_key_labels() {
    static const auto labels = [] {
        std::map<std::string, std::string, std::less<>> out;
        for (const auto& fi : metric_catalogue())
            if (!fi.key_label.empty()) out[fi.name] = std::string(fi.key_label);
        return out;
    }();
    return labels;
}

enum class Owner { system, cpu, process, cgroup, device, netns, filesystem };

// Which object a series belongs to, by its labels (as snapshot_series names them).
Owner owner_of(const Labels& l) {
    bool pid = false, comm = false, cgroup = false;
    // A filesystem has a device label too: mountpoint decides first.
    for (const auto& [k, v] : l)
        if (k == "mountpoint") return Owner::filesystem;
    for (const auto& [k, v] : l) {
        if (k == "cpu") return Owner::cpu;
        if (k == "device") return Owner::device;
        if (k == "netns") return Owner::netns;
        pid |= k == "pid";
        comm |= k == "comm";
        cgroup |= k == "cgroup";
    }
    if (pid || comm) return Owner::process;
    if (cgroup) return Owner::cgroup;
    return Owner::system;
}

}  // namespace

Snapshot snapshot_from_series(const std::vector<SeriesSample>& samples, uint64_t interval_ns,
                              int64_t end_unix_ms) {
    // Objects keyed by their labels, minus a map field's key label.
    std::map<std::pair<Owner, Labels>, ObjectSeries> objects;
    for (const auto& s : samples) {
        Labels labels = s.key.labels;
        const Owner owner = owner_of(labels);
        std::string map_key;
        bool is_map = false;
        if (auto kl = map_key_labels().find(s.key.metric); kl != map_key_labels().end()) {
            for (auto it = labels.begin(); it != labels.end(); ++it)
                if (it->first == kl->second) {
                    map_key = it->second;
                    labels.erase(it);
                    is_map = true;
                    break;
                }
        }
        ObjectSeries& obj = objects[{owner, labels}];
        obj.labels = labels;
        if (is_map)
            obj.maps[s.key.metric][map_key] = static_cast<uint64_t>(s.value);
        else
            obj.by_name[s.key.metric] = &s;
    }

    Snapshot snap;
    snap.interval_ns = interval_ns;
    snap.end_unix_ms = end_unix_ms;
    for (const auto& [key, obj] : objects) {
        const Labels& l = obj.labels;
        switch (key.first) {
            case Owner::system:
                fill(snap.system, obj, "");
                break;
            case Owner::cpu: {
                CpuSample c;
                fill(c, obj, "");
                c.cpu = static_cast<int>(to_u64(label(l, "cpu")));
                snap.cpus.push_back(std::move(c));
                break;
            }
            case Owner::process: {
                ProcessSample p;
                fill(p, obj, "");
                p.pid = static_cast<int>(to_u64(label(l, "pid")));
                p.start_time_ticks = to_u64(label(l, "start"));
                p.comm = label(l, "comm");
                p.cgroup = label(l, "cgroup");
                snap.processes.push_back(std::move(p));
                break;
            }
            case Owner::cgroup: {
                CgroupSample c;
                fill(c, obj, "");
                c.path = label(l, "cgroup");
                snap.cgroups.push_back(std::move(c));
                break;
            }
            case Owner::device: {
                DeviceSample d;
                fill(d, obj, "");
                d.name = label(l, "device");
                snap.devices.push_back(std::move(d));
                break;
            }
            case Owner::netns: {
                NetnsSample n;
                fill(n, obj, "");
                const std::string id = label(l, "netns");
                if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos)
                    n.inode = to_u64(id);
                else
                    n.name = id;
                snap.netns.push_back(std::move(n));
                break;
            }
            case Owner::filesystem: {
                FilesystemSample f;
                fill(f, obj, "");
                f.mountpoint = label(l, "mountpoint");
                f.device = label(l, "device");
                snap.filesystems.push_back(std::move(f));
                break;
            }
        }
    }
    return snap;
}

}  // namespace perfbpf
