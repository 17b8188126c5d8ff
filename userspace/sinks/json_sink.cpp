#include "sinks/json_sink.h"

#include <iterator>
#include <optional>
#include <type_traits>

#include "detect/verdict.h"
#include "model/catalogue.h"

namespace perfbpf {

using nlohmann::json;

json labels_json(const Labels& labels) {
    json j = json::object();
    for (const auto& [k, v] : labels) j[k] = v;
    return j;
}

json histogram_json(const Log2Histogram& h) {
    // Sparse: {"le_us": upper bound of the slot, "count": n} for non-empty slots.
    json out = json::array();
    for (size_t i = 0; i < Log2Histogram::kSlots; ++i) {
        if (h.slot(i) == 0) continue;
        out.push_back({{"le_us", Log2Histogram::slot_high_us(i)}, {"count", h.slot(i)}});
    }
    return out;
}

json probe_status_json(const std::vector<ProbeStatus>& probes) {
    json out = json::array();
    for (const auto& p : probes)
        out.push_back({{"family", p.family},
                       {"probe", p.probe},
                       {"attached", p.attached},
                       {"core", p.core},
                       {"skipped", p.skipped},
                       {"reason", p.reason}});
    return out;
}

namespace {

using ojson = nlohmann::ordered_json;

template <Catalogued S>
ojson struct_json(const S& s);

// A field's value; nullopt leaves the key out (an optional nested struct that is not there,
// such as Psi::full on older kernels).
template <class T>
std::optional<ojson> value_json(const T& v) {
    if constexpr (std::is_same_v<T, Log2Histogram>)
        return ojson(histogram_json(v));
    else if constexpr (std::is_same_v<T, std::optional<uint64_t>>)
        return v ? ojson(*v) : ojson(nullptr);
    else if constexpr (std::is_same_v<T, std::optional<PsiLine>>)
        return v ? std::optional(struct_json(*v)) : std::nullopt;
    else if constexpr (std::is_array_v<T>)
        return ojson(std::vector(std::begin(v), std::end(v)));
    else if constexpr (Catalogued<T>)
        return struct_json(v);
    else
        return ojson(v);
}

// A nested struct's fields placed beside it, written into the enclosing object.
template <class T>
void add_beside(ojson& out, std::string_view outer, const T& v) {
    if constexpr (Catalogued<T>) {
        for (const auto& f : fields<T>()) {
            if (f.place != JsonPlace::beside) continue;
            visit_field(f, v, [&](const auto& inner) {
                if (auto j = value_json(inner)) out[joined_name(outer, f.name)] = std::move(*j);
            });
        }
    }
}

template <Catalogued S>
ojson struct_json(const S& s) {
    if (!present(s)) return nullptr;
    ojson out = ojson::object();
    for (const auto& f : fields<S>()) {
        if (f.place == JsonPlace::implied || f.place == JsonPlace::beside) continue;
        visit_field(f, s, [&](const auto& v) {
            if (auto j = value_json(v)) out[std::string(f.name)] = std::move(*j);
            add_beside(out, f.name, v);
        });
    }
    return out;
}

template <Catalogued S>
ojson array_json(const std::vector<S>& items) {
    ojson out = ojson::array();
    for (const auto& item : items) out.push_back(struct_json(item));
    return out;
}

}  // namespace

nlohmann::ordered_json snapshot_json(const Snapshot& s, const std::vector<Verdict>& verdicts) {
    ojson vs = ojson::array(), ooms = ojson::array();
    for (const auto& v : verdicts)
        vs.push_back({{"resource", v.resource},
                      {"severity", severity_name(v.severity)},
                      {"evidence", v.evidence},
                      {"subject", v.subject}});
    for (const auto& o : s.oom_kills)
        ooms.push_back({{"pid", o.pid}, {"comm", o.comm}, {"rss_bytes", o.rss_bytes}});
    ojson drops{{"total", s.drops.total}};
    for (const auto& [kind, n] : s.drops.by_kind) drops[kind] = n;
    // One key a line (clang-format would pack them).
    // clang-format off
    return {{"interval_ns", s.interval_ns},
            {"end_unix_ms", s.end_unix_ms},
            {"system", struct_json(s.system)},
            {"verdicts", std::move(vs)},
            {"processes", array_json(s.processes)},
            {"cgroups", array_json(s.cgroups)},
            {"devices", array_json(s.devices)},
            {"cpus", array_json(s.cpus)},
            {"netns", array_json(s.netns)},
            {"filesystems", array_json(s.filesystems)},
            {"oom_kills", std::move(ooms)},
            {"drops", std::move(drops)},
            {"probes", probe_status_json(s.probes)}};
    // clang-format on
}

}  // namespace perfbpf
