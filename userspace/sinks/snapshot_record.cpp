#include "sinks/snapshot_record.h"

#include <cerrno>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "model/catalogue.h"
#include "sinks/json_sink.h"
#include "util/files.h"
#include "util/json_limits.h"
#include "util/safe_open.h"

namespace perfbpf {

using nlohmann::json;

namespace {

Log2Histogram histogram_from(const json& j) {
    Log2Histogram h;
    if (!j.is_array()) return h;
    for (const auto& e : j) {
        double le = e.value("le_us", 0.0);
        uint64_t n = e.value("count", uint64_t{0});
        // le_us is the slot's upper bound: 1 for slot 0, 2^k for slot k.
        size_t slot = le <= 1.0 ? 0 : static_cast<size_t>(std::lround(std::log2(le)));
        h.add_slot(slot, n);
    }
    return h;
}

template <class T>
void get(const json& j, const char* key, T& out) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) out = it->get<T>();
}

template <Catalogued S>
void read_struct(const json& j, S& s);

// Reads one field's value from a JSON value that is not null.
template <class T>
void read_value(const json& j, T& out) {
    if constexpr (std::is_same_v<T, Log2Histogram>)
        out = histogram_from(j);
    else if constexpr (std::is_same_v<T, std::optional<uint64_t>>)
        out = j.get<uint64_t>();
    else if constexpr (std::is_same_v<T, std::optional<PsiLine>>)
        read_struct(j, out.emplace());
    else if constexpr (std::is_array_v<T>) {
        if (!j.is_array() || j.size() != std::extent_v<T>)
            throw std::runtime_error("expected an array of " + std::to_string(std::extent_v<T>));
        for (size_t i = 0; i < std::extent_v<T>; ++i) out[i] = j[i].get<std::remove_extent_t<T>>();
    } else if constexpr (Catalogued<T>)
        read_struct(j, out);
    else
        out = j.get<T>();
}

// A nested struct's fields placed beside it, read from the enclosing object.
template <class T>
void read_beside(const json& outer_json, std::string_view outer, T& v) {
    if constexpr (Catalogued<T>) {
        for (const auto& f : fields<T>()) {
            if (f.place != JsonPlace::beside) continue;
            auto it = outer_json.find(joined_name(outer, f.name));
            if (it == outer_json.end() || it->is_null()) continue;
            visit_field(f, v, [&](auto& inner) { read_value(*it, inner); });
        }
    }
}

// The inverse of json_sink's struct_json: null leaves the struct at its defaults (absent).
template <Catalogued S>
void read_struct(const json& j, S& s) {
    if (!j.is_object()) return;
    for (const auto& f : fields<S>()) {
        if (f.place == JsonPlace::beside) continue;
        visit_field(f, s, [&](auto& v) {
            using T = std::remove_cvref_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) {
                if (f.place == JsonPlace::implied) v = true;
            }
            read_beside(j, f.name, v);
            if (f.place == JsonPlace::implied) return;
            auto it = j.find(f.name);
            if (it == j.end() || it->is_null()) return;
            try {
                read_value(*it, v);
            } catch (const std::exception& e) {
                throw std::runtime_error(std::string(f.name) + ": " + e.what());
            }
        });
    }
}

template <Catalogued S>
std::vector<S> read_array(const json& j, const char* key) {
    std::vector<S> out;
    for (const auto& item : j.value(key, json::array())) read_struct(item, out.emplace_back());
    return out;
}

}  // namespace

Result<Snapshot> snapshot_from_json(const json& j) {
    if (!j.is_object() || !j.contains("interval_ns"))
        return fail("not a perfbpf snapshot (no interval_ns)");
    // Replay waits interval_ns between frames and rates divide by it: 0 divides by zero, a
    // negative one reads as 2^64 ns.
    const json& iv = j["interval_ns"];
    if (!iv.is_number_unsigned() || iv.get<uint64_t>() == 0 ||
        iv.get<uint64_t>() > kMaxSnapshotIntervalNs)
        return fail("interval_ns " + iv.dump() + " is not between 1 ns and 1 day");
    try {
        Snapshot s;
        get(j, "interval_ns", s.interval_ns);
        get(j, "end_unix_ms", s.end_unix_ms);
        read_struct(j.value("system", json::object()), s.system);
        s.processes = read_array<ProcessSample>(j, "processes");
        s.cgroups = read_array<CgroupSample>(j, "cgroups");
        s.devices = read_array<DeviceSample>(j, "devices");
        s.cpus = read_array<CpuSample>(j, "cpus");
        s.netns = read_array<NetnsSample>(j, "netns");
        s.filesystems = read_array<FilesystemSample>(j, "filesystems");
        for (const auto& oj : j.value("oom_kills", json::array())) {
            OomKill o;
            get(oj, "pid", o.pid);
            get(oj, "comm", o.comm);
            get(oj, "rss_bytes", o.rss_bytes);
            s.oom_kills.push_back(std::move(o));
        }
        if (j.contains("drops") && j["drops"].is_object()) {
            for (const auto& [k, v] : j["drops"].items()) {
                if (k == "total")
                    s.drops.total = v.get<uint64_t>();
                else
                    s.drops.by_kind[k] = v.get<uint64_t>();
            }
        }
        for (const auto& pj : j.value("probes", json::array())) {
            ProbeStatus p;
            get(pj, "family", p.family);
            get(pj, "probe", p.probe);
            get(pj, "attached", p.attached);
            get(pj, "core", p.core);
            get(pj, "skipped", p.skipped);
            get(pj, "reason", p.reason);
            s.probes.push_back(std::move(p));
        }
        return s;
    } catch (const std::exception& e) {
        return fail(std::string("malformed snapshot: ") + e.what());
    }
}

Result<std::vector<Snapshot>> read_recording(const std::string& path) {
    auto text = read_regular_file(path, kMaxRecordingBytes);
    if (!text) return std::unexpected(text.error());
    std::vector<Snapshot> out;
    std::string_view rest(*text);
    for (size_t lineno = 1; !rest.empty(); ++lineno) {
        const size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        const std::string where = path + ":" + std::to_string(lineno) + ": ";
        if (line.size() > kMaxRecordingLineBytes)
            return fail(where + "line longer than " + std::to_string(kMaxRecordingLineBytes) +
                        " bytes");
        if (trim(line).empty()) continue;
        auto j = parse_json_bounded(line);
        if (!j) {
            // A run killed mid-write leaves a last line without its newline: ignore only that.
            if (nl == std::string_view::npos) break;
            return fail(where + j.error().message);
        }
        auto s = snapshot_from_json(*j);
        if (!s) return fail(where + s.error().message);
        out.push_back(std::move(*s));
    }
    return out;
}

Result<Recorder> Recorder::open(const std::string& path) {
    Recorder r;
    r.path_ = path;
    auto fd = create_output_file(path, /*append=*/true);
    if (!fd) return fail("recording: " + fd.error().message);
    r.file_.reset(::fdopen(fd->get(), "a"));
    if (!r.file_) return fail_errno("open recording " + path, errno);
    fd->release();  // the FILE owns it now
    return r;
}

Result<void> Recorder::append(const Snapshot& s) {
    std::string line = snapshot_json(s, {}).dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() ||
        std::fflush(file_.get()) != 0)
        return fail_errno("write recording " + path_, errno);
    return {};
}

}  // namespace perfbpf
