// The metric catalogue: every field of the Snapshot's sample structs declared once, with its
// JSON key (which is also its series name), unit, kind and help. The JSON writer, the
// recording reader and the series extraction iterate these tables instead of listing
// fields by hand, so a field added here appears in every format at once.
#pragma once

#include <concepts>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "model/series.h"
#include "model/snapshot.h"
#include "util/enum_table.h"

namespace perfbpf {

// What a field is. The first four are MetricKind's values (a time series); the rest are not
// metrics.
enum class FieldKind : uint8_t {
    counter,
    gauge,
    level,
    histogram,
    identity,  // names its object (pid, start time, path, device name, cpu, inode)
    label,     // describes its object and labels its series (a process's comm, cgroup)
    info,      // anything else that is not a metric (reasons, flags, source names)
    nested,    // a struct with a table of its own (Psi, PsiLine, CgroupMemory)
};

std::optional<MetricKind> metric_kind(FieldKind k);
inline constexpr auto kFieldKindNames =
    enum_table<FieldKind>("field kind", {{FieldKind::counter, "counter"},
                                         {FieldKind::gauge, "gauge"},
                                         {FieldKind::level, "level"},
                                         {FieldKind::histogram, "histogram"},
                                         {FieldKind::identity, "identity"},
                                         {FieldKind::label, "label"},
                                         {FieldKind::info, "info"},
                                         {FieldKind::nested, "nested"}});
inline std::string_view field_kind_name(FieldKind k) {
    return kFieldKindNames.name(k);
}

// The object a sample struct describes; also the label its series carry.
enum class ObjectKind : uint8_t { system, cpu, process, cgroup, device, netns, filesystem };
inline constexpr auto kObjectKindNames =
    enum_table<ObjectKind>("object kind", {{ObjectKind::system, "system"},
                                           {ObjectKind::cpu, "cpu"},
                                           {ObjectKind::process, "process"},
                                           {ObjectKind::cgroup, "cgroup"},
                                           {ObjectKind::device, "device"},
                                           {ObjectKind::netns, "netns"},
                                           {ObjectKind::filesystem, "filesystem"}});
inline std::string_view object_name(ObjectKind o) {
    return kObjectKindNames.name(o);
}

// Where a field sits in the JSON of its struct.
enum class JsonPlace : uint8_t {
    key,       // a key of the struct's object
    presence,  // a key; the struct is written as null when this is empty (CgroupMemory::source)
    implied,   // no key: true exactly when the struct's object is not null (Psi::available)
    // A key of the enclosing object named `<member>_<name>` (memory_unavailable), so it is
    // there when the struct itself is null.
    beside,
};

using CountMap = std::map<std::string, uint64_t>;

// A typed pointer to one member of S.
template <class S>
using Member = std::variant<uint64_t S::*, int64_t S::*, int S::*, uint32_t S::*, double S::*,
                            bool S::*, std::string S::*, std::optional<uint64_t> S::*,
                            CountMap S::*, Log2Histogram S::*, double (S::*)[3], Psi S::*,
                            PsiLine S::*, std::optional<PsiLine> S::*, CgroupMemory S::*>;

template <class S>
struct Field {
    std::string_view name;  // JSON key and series name
    std::string_view unit;  // "bytes", "ns", "us", "pct", "count", "pages", ...; "" for text
    FieldKind kind;
    std::string_view help;
    Member<S> member;
    JsonPlace place = JsonPlace::key;
    std::string_view key_label = {};  // a map's keys become this label in its series
};

// The table of each struct, in JSON order. Defined for the sample structs (SystemSample,
// CpuSample, ProcessSample, CgroupSample, DeviceSample, NetnsSample, FilesystemSample) and
// the structs nested
// in them (Psi, PsiLine, CgroupMemory).
template <class S>
std::span<const Field<S>> fields();
template <>
std::span<const Field<SystemSample>> fields<SystemSample>();
template <>
std::span<const Field<CpuSample>> fields<CpuSample>();
template <>
std::span<const Field<ProcessSample>> fields<ProcessSample>();
template <>
std::span<const Field<CgroupSample>> fields<CgroupSample>();
template <>
std::span<const Field<DeviceSample>> fields<DeviceSample>();
template <>
std::span<const Field<NetnsSample>> fields<NetnsSample>();
template <>
std::span<const Field<FilesystemSample>> fields<FilesystemSample>();
template <>
std::span<const Field<Psi>> fields<Psi>();
template <>
std::span<const Field<PsiLine>> fields<PsiLine>();
template <>
std::span<const Field<CgroupMemory>> fields<CgroupMemory>();

template <class S>
concept Catalogued =
    std::same_as<S, SystemSample> || std::same_as<S, CpuSample> || std::same_as<S, ProcessSample> ||
    std::same_as<S, CgroupSample> || std::same_as<S, DeviceSample> ||
    std::same_as<S, NetnsSample> || std::same_as<S, FilesystemSample> || std::same_as<S, Psi> ||
    std::same_as<S, PsiLine> || std::same_as<S, CgroupMemory>;

// The object each sample struct describes (nested structs belong to their owner's).
template <class S>
inline constexpr std::optional<ObjectKind> object_of = std::nullopt;
template <>
inline constexpr std::optional<ObjectKind> object_of<SystemSample> = ObjectKind::system;
template <>
inline constexpr std::optional<ObjectKind> object_of<CpuSample> = ObjectKind::cpu;
template <>
inline constexpr std::optional<ObjectKind> object_of<ProcessSample> = ObjectKind::process;
template <>
inline constexpr std::optional<ObjectKind> object_of<CgroupSample> = ObjectKind::cgroup;
template <>
inline constexpr std::optional<ObjectKind> object_of<DeviceSample> = ObjectKind::device;
template <>
inline constexpr std::optional<ObjectKind> object_of<NetnsSample> = ObjectKind::netns;
template <>
inline constexpr std::optional<ObjectKind> object_of<FilesystemSample> = ObjectKind::filesystem;

// Calls fn with a reference to the member f names in s (const when s is).
template <class S, class Sample, class F>
requires std::same_as<std::remove_const_t<Sample>, S>
void visit_field(const Field<S>& f, Sample& s, F&& fn) {
    std::visit([&](auto m) { fn(s.*m); }, f.member);
}

// Whether a struct holds data: false when a field placed `presence` or `implied` is empty
// or false (then JSON writes the struct as null and it has no series).
template <Catalogued S>
bool present(const S& s) {
    for (const auto& f : fields<S>()) {
        if (f.place != JsonPlace::presence && f.place != JsonPlace::implied) continue;
        bool set = true;
        visit_field(f, s, [&](const auto& v) {
            using T = std::remove_cvref_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>)
                set = v;
            else if constexpr (std::is_same_v<T, std::string>)
                set = !v.empty();
        });
        if (!set) return false;
    }
    return true;
}

// The name of a nested struct's field outside it: the JSON path joined with '_'
// ("psi_cpu" + "some" -> "psi_cpu_some", "memory" + "unavailable" -> "memory_unavailable").
std::string joined_name(std::string_view outer, std::string_view inner);

}  // namespace perfbpf
