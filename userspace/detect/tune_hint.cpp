#include "detect/tune_hint.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace perfbpf {
namespace {

std::string label(const Labels& labels, std::string_view key) {
    for (const auto& [k, v] : labels)
        if (k == key) return v;
    return "";
}

// The object kinds each tuner writes knobs for (tune/tuners/*.h), most specific first.
// The net tuners write the host's sysctls for the initial namespace ("host"), which no
// object filter allows: only named namespaces are hinted.
struct TunerObjects {
    std::string_view tuner;
    std::array<std::string_view, 2> kinds;
};
constexpr TunerObjects kTunerObjects[] = {
    {"cpu-share", {"pid", "cgroup"}}, {"memory", {"cgroup", ""}},     {"block-io", {"device", ""}},
    {"net-backlog", {"netns", ""}},   {"tcp-buffers", {"netns", ""}},
};

std::optional<TuneHint> incident_series_hint(const SeriesKey& key) {
    // A process's series carries its cgroup too: processes are not hinted.
    if (!label(key.labels, "pid").empty()) return std::nullopt;
    const std::string cgroup = label(key.labels, "cgroup");
    const std::string device = label(key.labels, "device");
    // Filesystems carry a device and a mountpoint: a full disk is no queue's doing.
    if (!label(key.labels, "mountpoint").empty()) return std::nullopt;
    switch (resource_of(key)) {
        case Resource::cpu:
            if (!cgroup.empty() && cgroup != "/") return TuneHint{"cpu-share", "cgroup", cgroup};
            break;
        case Resource::memory:
            if (!cgroup.empty() && cgroup != "/") return TuneHint{"memory", "cgroup", cgroup};
            break;
        case Resource::io:
            if (!device.empty()) return TuneHint{"block-io", "device", device};
            break;
        default:
            break;
    }
    return std::nullopt;
}

}  // namespace

std::optional<TuneHint> hint_for_object(const std::string& tuner, const Labels& object) {
    auto it = std::ranges::find(kTunerObjects, tuner, &TunerObjects::tuner);
    if (it == std::end(kTunerObjects)) return std::nullopt;
    for (std::string_view kind : it->kinds) {
        if (kind.empty()) continue;
        const std::string v = label(object, kind);
        if (v.empty() || (kind == "cgroup" && v == "/") || (kind == "netns" && v == "host"))
            continue;
        return TuneHint{tuner, std::string(kind), v};
    }
    return std::nullopt;
}

std::optional<TuneHint> alert_tune_hint(const Alert& alert) {
    if (alert.tuner.empty()) return std::nullopt;
    return hint_for_object(alert.tuner, alert.object);
}

std::optional<TuneHint> incident_tune_hint(const Incident& incident) {
    std::vector<const IncidentSeries*> order;
    for (const IncidentSeries& s : incident.series) order.push_back(&s);
    std::ranges::stable_sort(order, [](const IncidentSeries* a, const IncidentSeries* b) {
        return a->peak.score > b->peak.score;
    });
    for (const IncidentSeries* s : order)
        if (auto h = incident_series_hint(s->key)) return h;
    return std::nullopt;
}

}  // namespace perfbpf
