// The metric catalogue covers every field of every struct, and the formats derived from it
// (JSON, recordings) carry every field.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <type_traits>

#include "model/catalogue.h"
#include "sinks/json_sink.h"
#include "sinks/snapshot_record.h"

namespace perfbpf {
namespace {

// Counts an aggregate's members by how many initializers it accepts. An array member takes
// one initializer per element (brace elision), which array_extra() makes up for.
struct AnyInit {
    template <class T>
    operator T() const;  // only in unevaluated requires-expressions
};

template <class T, class... A>
consteval size_t initializer_count() {
    if constexpr (requires { T{A{}..., AnyInit{}}; })
        return initializer_count<T, A..., AnyInit>();
    else
        return sizeof...(A);
}

template <class S>
size_t array_extra() {
    size_t extra = 0;
    for (const auto& f : fields<S>())
        std::visit(
            [&](auto m) {
                using T = std::remove_reference_t<decltype(std::declval<S&>().*m)>;
                if constexpr (std::is_array_v<T>) extra += std::extent_v<T> - 1;
            },
            f.member);
    return extra;
}

template <class S>
void expect_complete(const char* name) {
    static_assert(std::is_aggregate_v<S>);
    EXPECT_EQ(fields<S>().size() + array_extra<S>(), initializer_count<S>())
        << name << ": a member is missing from (or doubled in) its catalogue table";
    std::set<std::string_view> names;
    for (const auto& f : fields<S>()) {
        EXPECT_TRUE(names.insert(f.name).second) << name << "." << f.name << " twice";
        EXPECT_FALSE(f.help.empty()) << name << "." << f.name;
        if (metric_kind(f.kind)) {
            EXPECT_FALSE(f.unit.empty()) << name << "." << f.name;
        }
    }
}

TEST(Catalogue, EveryMemberOfEveryStructIsListedOnce) {
    expect_complete<SystemSample>("SystemSample");
    expect_complete<CpuSample>("CpuSample");
    expect_complete<ProcessSample>("ProcessSample");
    expect_complete<CgroupSample>("CgroupSample");
    expect_complete<DeviceSample>("DeviceSample");
    expect_complete<NetnsSample>("NetnsSample");
    expect_complete<FilesystemSample>("FilesystemSample");
    expect_complete<Psi>("Psi");
    expect_complete<PsiLine>("PsiLine");
    expect_complete<CgroupMemory>("CgroupMemory");
}

TEST(Catalogue, KindsMapOntoMetricKinds) {
    EXPECT_EQ(metric_kind(FieldKind::counter), MetricKind::counter);
    EXPECT_EQ(metric_kind(FieldKind::histogram), MetricKind::histogram);
    EXPECT_EQ(metric_kind(FieldKind::identity), std::nullopt);
    EXPECT_EQ(metric_kind(FieldKind::nested), std::nullopt);
    const auto& pid = fields<ProcessSample>()[0];
    EXPECT_EQ(pid.name, "pid");
    EXPECT_EQ(pid.kind, FieldKind::identity);
}

// Where a and b differ, field by field through the catalogue (so a new field is compared
// without touching this test).
template <Catalogued S>
void diff(const S& a, const S& b, const std::string& at, std::vector<std::string>& out) {
    for (const auto& f : fields<S>()) {
        std::visit(
            [&](auto m) {
                const auto& x = a.*m;
                const auto& y = b.*m;
                using T = std::remove_cvref_t<decltype(x)>;
                std::string where = at + "." + std::string(f.name);
                if constexpr (Catalogued<T>) {
                    diff(x, y, where, out);
                } else if constexpr (std::is_same_v<T, std::optional<PsiLine>>) {
                    if (x.has_value() != y.has_value())
                        out.push_back(where);
                    else if (x)
                        diff(*x, *y, where, out);
                } else if constexpr (std::is_array_v<T>) {
                    if (!std::equal(std::begin(x), std::end(x), std::begin(y)))
                        out.push_back(where);
                } else if (!(x == y)) {
                    out.push_back(where);
                }
            },
            f.member);
    }
}

template <Catalogued S>
void diff_all(const std::vector<S>& a, const std::vector<S>& b, const std::string& at,
              std::vector<std::string>& out) {
    if (a.size() != b.size()) {
        out.push_back(at + " count");
        return;
    }
    for (size_t i = 0; i < a.size(); ++i) diff(a[i], b[i], at + "[" + std::to_string(i) + "]", out);
}

std::vector<std::string> diff(const Snapshot& a, const Snapshot& b) {
    std::vector<std::string> out;
    if (a.interval_ns != b.interval_ns) out.push_back("interval_ns");
    if (a.end_unix_ms != b.end_unix_ms) out.push_back("end_unix_ms");
    diff(a.system, b.system, "system", out);
    diff_all(a.processes, b.processes, "processes", out);
    diff_all(a.cgroups, b.cgroups, "cgroups", out);
    diff_all(a.devices, b.devices, "devices", out);
    diff_all(a.cpus, b.cpus, "cpus", out);
    diff_all(a.netns, b.netns, "netns", out);
    diff_all(a.filesystems, b.filesystems, "filesystems", out);
    if (a.oom_kills.size() != b.oom_kills.size()) out.push_back("oom_kills");
    for (size_t i = 0; i < a.oom_kills.size() && i < b.oom_kills.size(); ++i) {
        const OomKill &x = a.oom_kills[i], &y = b.oom_kills[i];
        if (x.pid != y.pid || x.comm != y.comm || x.rss_bytes != y.rss_bytes)
            out.push_back("oom_kills[" + std::to_string(i) + "]");
    }
    if (a.drops.total != b.drops.total || a.drops.by_kind != b.drops.by_kind)
        out.push_back("drops");
    if (a.probes.size() != b.probes.size()) out.push_back("probes");
    for (size_t i = 0; i < a.probes.size() && i < b.probes.size(); ++i) {
        const ProbeStatus &x = a.probes[i], &y = b.probes[i];
        if (x.family != y.family || x.probe != y.probe || x.attached != y.attached ||
            x.core != y.core || x.reason != y.reason || x.skipped != y.skipped)
            out.push_back("probes[" + std::to_string(i) + "]");
    }
    return out;
}

// Through text, as a recording stores it.
Snapshot round_trip(const Snapshot& s) {
    auto back = snapshot_from_json(nlohmann::json::parse(snapshot_json(s, {}).dump()));
    EXPECT_TRUE(back) << back.error().message;
    return back ? *back : Snapshot{};
}

// Sets every catalogued field to a value of its own, none equal to its default.
struct Distinct {
    uint64_t n = 0;

    template <Catalogued S>
    void fill(S& s) {
        for (const auto& f : fields<S>()) visit_field(f, s, [&](auto& v) { set(v); });
    }

    template <class T>
    void set(T& v) {
        ++n;
        if constexpr (std::is_same_v<T, bool>)
            v = !v;
        else if constexpr (std::is_same_v<T, std::string>)
            v = "s" + std::to_string(n);
        else if constexpr (std::is_same_v<T, std::optional<uint64_t>>)
            v = n;
        else if constexpr (std::is_same_v<T, CountMap>)
            v = {{"k" + std::to_string(n), n}, {"z" + std::to_string(n), n + 1}};
        else if constexpr (std::is_same_v<T, Log2Histogram>) {
            v.add_slot(n % Log2Histogram::kSlots, n);
            v.add_slot((n + 7) % Log2Histogram::kSlots, 1);
        } else if constexpr (std::is_same_v<T, std::optional<PsiLine>>)
            fill(v.emplace());
        else if constexpr (Catalogued<T>)
            fill(v);
        else if constexpr (std::is_array_v<T>)
            for (auto& e : v) e = static_cast<double>(n++) + 0.25;
        else if constexpr (std::is_floating_point_v<T>)
            v = static_cast<double>(n) + 0.5;
        else if constexpr (std::is_signed_v<T>)
            v = -static_cast<T>(n);
        else
            v = static_cast<T>(n);
    }

    template <Catalogued S>
    std::vector<S> items(size_t count) {
        std::vector<S> out(count);
        for (auto& s : out) fill(s);
        return out;
    }
};

Snapshot distinct_snapshot() {
    Distinct d;
    Snapshot s;
    s.interval_ns = 1'000'000'007;
    s.end_unix_ms = 1'700'000'000'123;
    d.fill(s.system);
    s.processes = d.items<ProcessSample>(2);
    s.cgroups = d.items<CgroupSample>(2);
    s.devices = d.items<DeviceSample>(2);
    s.cpus = d.items<CpuSample>(2);
    s.netns = d.items<NetnsSample>(2);
    s.filesystems = d.items<FilesystemSample>(2);
    s.oom_kills = {OomKill{41, "victim", 1 << 20, 0}};
    s.drops.by_kind = {{"ring_full", 3}};
    s.drops.total = 3;
    s.probes = {ProbeStatus{"sched", "raw_tp/sched_switch", false, false, "no BTF", true}};
    return s;
}

TEST(CatalogueJson, EveryFieldSetToADistinctValueRoundTripsExactly) {
    Snapshot s = distinct_snapshot();
    EXPECT_FALSE(diff(s, Snapshot{}).empty());
    EXPECT_TRUE(s.system.psi_io.full.has_value());
    auto d = diff(s, round_trip(s));
    EXPECT_TRUE(d.empty()) << "differs after a round trip: " << testing::PrintToString(d);
}

TEST(CatalogueJson, AbsentStructsStayAbsent) {
    Snapshot s;
    s.interval_ns = 1;
    s.cgroups.resize(1);
    s.cgroups[0].memory.unavailable = "no memory controller";
    s.system.psi_cpu.available = true;  // some only: no "full" on this kernel
    auto j = snapshot_json(s, {});
    EXPECT_TRUE(j["cgroups"][0]["memory"].is_null());
    EXPECT_EQ(j["cgroups"][0]["memory_unavailable"], "no memory controller");
    EXPECT_FALSE(j["cgroups"][0].contains("memory_source"));
    EXPECT_TRUE(j["cgroups"][0]["psi_io"].is_null());
    EXPECT_FALSE(j["system"]["psi_cpu"].contains("full"));
    EXPECT_FALSE(j["system"]["psi_cpu"].contains("available"));
    auto d = diff(s, round_trip(s));
    EXPECT_TRUE(d.empty()) << testing::PrintToString(d);
}

TEST(CatalogueJson, TopLevelKeysInCatalogueOrder) {
    auto j = snapshot_json(Snapshot{}, {});
    std::vector<std::string> keys;
    for (const auto& [k, _] : j.items()) keys.push_back(k);
    ASSERT_GE(keys.size(), 4u);
    EXPECT_EQ(keys[2], "system");
    EXPECT_EQ(keys[3], "verdicts");
    std::vector<std::string> process_keys;
    Snapshot s;
    s.processes.resize(1);
    auto pj = snapshot_json(s, {});
    for (const auto& [k, _] : pj["processes"][0].items()) process_keys.push_back(k);
    ASSERT_EQ(process_keys.size(), fields<ProcessSample>().size());
    for (size_t i = 0; i < process_keys.size(); ++i)
        EXPECT_EQ(process_keys[i], fields<ProcessSample>()[i].name);
}

std::vector<std::filesystem::path> recordings() {
    std::vector<std::filesystem::path> out;
    for (const auto& e :
         std::filesystem::directory_iterator(std::string(PERFBPF_FIXTURES_DIR) + "/recordings"))
        if (e.path().extension() == ".jsonl") out.push_back(e.path());
    return out;
}

// Every key the recording has is still written, with the same JSON type.
void expect_keys_kept(const nlohmann::json& old_j, const nlohmann::ordered_json& new_j,
                      const std::string& at, std::vector<std::string>& missing) {
    auto coarse = [](const auto& v) {
        return v.is_number() ? std::string("number") : std::string(v.type_name());
    };
    if (coarse(old_j) != coarse(new_j)) {
        missing.push_back(at + " (" + coarse(old_j) + " -> " + coarse(new_j) + ")");
        return;
    }
    if (old_j.is_object()) {
        for (const auto& [k, v] : old_j.items()) {
            if (!new_j.contains(k))
                missing.push_back(at + "." + k);
            else
                expect_keys_kept(v, new_j[k], at + "." + k, missing);
        }
    } else if (old_j.is_array() && old_j.size() == new_j.size()) {
        for (size_t i = 0; i < old_j.size(); ++i)
            expect_keys_kept(old_j[i], new_j[i], at + "[" + std::to_string(i) + "]", missing);
    }
}

TEST(CatalogueJson, RecordingsRoundTripWithEveryField) {
    auto files = recordings();
    ASSERT_FALSE(files.empty());
    for (const auto& path : files) {
        auto snaps = read_recording(path);
        ASSERT_TRUE(snaps) << snaps.error().message;
        ASSERT_FALSE(snaps->empty()) << path;
        for (size_t i = 0; i < snaps->size(); ++i) {
            auto d = diff((*snaps)[i], round_trip((*snaps)[i]));
            EXPECT_TRUE(d.empty()) << path << " #" << i << ": " << testing::PrintToString(d);
        }
    }
}

TEST(CatalogueJson, RecordingsKeepTheirKeysAndTypes) {
    for (const auto& path : recordings()) {
        auto snaps = read_recording(path);
        ASSERT_TRUE(snaps) << snaps.error().message;
        std::ifstream in(path);
        std::string line;
        for (size_t i = 0; std::getline(in, line) && i < snaps->size(); ++i) {
            std::vector<std::string> missing;
            expect_keys_kept(nlohmann::json::parse(line), snapshot_json((*snaps)[i], {}), "",
                             missing);
            // Verdicts are recomputed on replay, not read back.
            std::erase_if(missing, [](const std::string& m) { return m.starts_with(".verdicts"); });
            EXPECT_TRUE(missing.empty())
                << path << " #" << i << ": " << testing::PrintToString(missing);
        }
    }
}

}  // namespace
}  // namespace perfbpf
