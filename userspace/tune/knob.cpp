#include "tune/knob.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>

#include "util/files.h"

namespace perfbpf::tune {
namespace {

std::string join(const std::vector<std::string_view>& parts) {
    std::string out;
    for (auto p : parts) {
        if (!out.empty()) out += ' ';
        out += p;
    }
    return out;
}

Result<int64_t> parse_i64(std::string_view text) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size())
        return fail("'" + std::string(text) + "' is not an integer");
    return v;
}

std::string name_of(const KnobSpec& spec) {
    return spec.key;
}

Result<void> check_step(const KnobSpec& spec, int64_t old_v, int64_t new_v) {
    if (new_v < spec.min || new_v > spec.max)
        return fail(name_of(spec) + ": " + std::to_string(new_v) + " is outside the bounds [" +
                    std::to_string(spec.min) + ", " + std::to_string(spec.max) + "]");
    if (spec.max_step_abs > 0 && std::llabs(new_v - old_v) > spec.max_step_abs)
        return fail(name_of(spec) + ": " + std::to_string(old_v) + " -> " + std::to_string(new_v) +
                    " is a larger step than " + std::to_string(spec.max_step_abs));
    if (spec.max_step_ratio > 0) {
        const double ref = static_cast<double>(std::max(old_v, spec.ratio_ref_min));
        const double hi = ref * spec.max_step_ratio;
        const double lo = static_cast<double>(old_v) / spec.max_step_ratio;
        if (static_cast<double>(new_v) > hi || static_cast<double>(new_v) < lo)
            return fail(name_of(spec) + ": " + std::to_string(old_v) + " -> " +
                        std::to_string(new_v) + " is a larger step than " +
                        std::to_string(spec.max_step_ratio).substr(0, 4) + "x");
    }
    return {};
}

int64_t round_down(int64_t v, int64_t granularity) {
    return granularity > 1 ? v / granularity * granularity : v;
}

}  // namespace

std::string to_string(const KnobId& id) {
    return std::string(knob_kind_name(id.kind)) + " " + id.key + " @ " + to_string(id.scope);
}

std::string format_int_fields(const std::vector<int64_t>& fields) {
    std::string out;
    for (int64_t f : fields) out += (out.empty() ? "" : " ") + std::to_string(f);
    return out;
}

Result<std::vector<int64_t>> parse_int_fields(std::string_view value) {
    std::vector<int64_t> out;
    for (auto f : split_fields(value)) {
        if (f == "max") {
            out.push_back(INT64_MAX);
            continue;
        }
        auto v = parse_i64(f);
        if (!v) return std::unexpected(v.error());
        out.push_back(*v);
    }
    if (out.empty()) return fail("empty value");
    return out;
}

Result<std::set<int>> parse_cpu_list(std::string_view text) {
    std::set<int> cpus;
    for (auto part : split_fields(text, ",\n\t ")) {
        auto dash = part.find('-');
        auto a = parse_i64(part.substr(0, dash));
        if (!a) return fail("CPU list '" + std::string(text) + "': " + a.error().message);
        int64_t b = *a;
        if (dash != std::string_view::npos) {
            auto e = parse_i64(part.substr(dash + 1));
            if (!e) return fail("CPU list '" + std::string(text) + "': " + e.error().message);
            b = *e;
        }
        if (*a < 0 || b < *a || b > 65535)
            return fail("CPU list '" + std::string(text) + "': bad range");
        for (int64_t c = *a; c <= b; ++c) cpus.insert(static_cast<int>(c));
    }
    if (cpus.empty()) return fail("empty CPU list");
    return cpus;
}

std::string format_cpu_list(const std::set<int>& cpus) {
    std::string out;
    for (auto it = cpus.begin(); it != cpus.end();) {
        int first = *it, last = *it;
        auto next = std::next(it);
        while (next != cpus.end() && *next == last + 1) last = *next++;
        if (!out.empty()) out += ',';
        out += std::to_string(first);
        if (last != first) out += "-" + std::to_string(last);
        it = next;
    }
    return out;
}

Result<KnobValue> parse_knob_value(const KnobSpec& spec, std::string_view raw) {
    KnobValue v;
    auto fields = split_fields(raw);
    switch (spec.type) {
        case ValueType::choice: {
            for (auto f : fields) {
                if (f.size() > 2 && f.front() == '[' && f.back() == ']') {
                    f = f.substr(1, f.size() - 2);
                    v.value = std::string(f);
                }
                v.choices.emplace_back(f);
            }
            // A file with one word holds just the value.
            if (v.value.empty() && fields.size() == 1) v.value = std::string(fields[0]);
            if (v.value.empty())
                return fail(spec.key + ": cannot tell the current value of '" +
                            std::string(trim(raw)) + "'");
            return v;
        }
        case ValueType::cpu_list: {
            auto cpus = parse_cpu_list(raw);
            if (!cpus) return fail(spec.key + ": " + cpus.error().message);
            v.value = format_cpu_list(*cpus);
            return v;
        }
        default: {
            auto ints = parse_int_fields(raw);
            if (!ints) return fail(spec.key + ": " + ints.error().message);
            const size_t want = spec.type == ValueType::int_list ? spec.fields : 1;
            if (ints->size() != want)
                return fail(spec.key + ": expected " + std::to_string(want) + " number(s), read '" +
                            std::string(trim(raw)) + "'");
            if (spec.type != ValueType::int_or_max &&
                std::find(fields.begin(), fields.end(), "max") != fields.end())
                return fail(spec.key + ": 'max' is not a value of this knob");
            v.value = join(fields);
            return v;
        }
    }
}

Result<std::string> check_change(const KnobSpec& spec, const KnobValue& current,
                                 std::string_view proposed, const std::set<int>& online_cpus) {
    if (!spec.writable) return fail(spec.key + " is read-only (a fact, not a knob)");
    switch (spec.type) {
        case ValueType::choice: {
            std::string p(trim(proposed));
            if (std::find(spec.choices.begin(), spec.choices.end(), p) == spec.choices.end())
                return fail(spec.key + ": '" + p + "' is not an allowed value");
            if (!current.choices.empty() &&
                std::find(current.choices.begin(), current.choices.end(), p) ==
                    current.choices.end())
                return fail(spec.key + ": '" + p + "' is not available here (" + [&] {
                    std::string s;
                    for (const auto& c : current.choices) s += (s.empty() ? "" : " ") + c;
                    return s;
                }() + ")");
            return p;
        }
        case ValueType::cpu_list: {
            auto cpus = parse_cpu_list(proposed);
            if (!cpus) return fail(spec.key + ": " + cpus.error().message);
            for (int c : *cpus)
                if (!online_cpus.empty() && !online_cpus.contains(c))
                    return fail(spec.key + ": CPU " + std::to_string(c) + " is not online");
            return format_cpu_list(*cpus);
        }
        default:
            break;
    }
    auto next = parse_int_fields(proposed);
    if (!next) return fail(spec.key + ": " + next.error().message);
    auto old = parse_int_fields(current.value);
    if (!old) return fail(spec.key + ": current value: " + old.error().message);
    const size_t want = spec.type == ValueType::int_list ? spec.fields : 1;
    if (next->size() != want || old->size() != want)
        return fail(spec.key + ": expected " + std::to_string(want) + " number(s), got '" +
                    std::string(trim(proposed)) + "'");
    std::vector<std::string> out;
    for (size_t i = 0; i < want; ++i) {
        int64_t n = (*next)[i], o = (*old)[i];
        if (n == INT64_MAX || o == INT64_MAX) {
            // "max" (no limit) to a number or back: bounds only; a tuner that leaves "max"
            // picks its first value from what it observed.
            if (spec.type != ValueType::int_or_max)
                return fail(spec.key + ": 'max' is not a value of this knob");
            if (n != INT64_MAX && (n < spec.min || n > spec.max))
                return fail(spec.key + ": " + std::to_string(n) + " is outside the bounds [" +
                            std::to_string(spec.min) + ", " + std::to_string(spec.max) + "]");
            out.push_back(n == INT64_MAX ? "max" : std::to_string(round_down(n, spec.granularity)));
            continue;
        }
        n = round_down(n, spec.granularity);
        if (n == o) {
            out.push_back(std::to_string(n));
            continue;
        }
        if (auto r = check_step(spec, o, n); !r) return std::unexpected(r.error());
        out.push_back(std::to_string(n));
    }
    if (spec.ascending) {
        for (size_t i = 1; i < want; ++i)
            if (std::stoll(out[i]) < std::stoll(out[i - 1]))
                return fail(spec.key + ": fields must not decrease ('" +
                            std::string(trim(proposed)) + "')");
    }
    std::string joined;
    for (const auto& s : out) joined += (joined.empty() ? "" : " ") + s;
    return joined;
}

Result<void> check_scope(const KnobSpec& spec, const Scope& scope) {
    bool ok = false;
    switch (spec.kind) {
        case KnobKind::sysctl:
            ok =
                scope.kind == ScopeKind::host || (scope.kind == ScopeKind::netns && spec.per_netns);
            if (!ok && scope.kind == ScopeKind::netns)
                return fail(spec.key + " is host-wide: it has no per-network-namespace value");
            break;
        case KnobKind::block_queue:
            ok = scope.kind == ScopeKind::device;
            break;
        case KnobKind::cgroup:
            ok = scope.kind == ScopeKind::cgroup;
            break;
        case KnobKind::nice:
        case KnobKind::affinity:
            ok = scope.kind == ScopeKind::pid;
            break;
    }
    if (!ok)
        return fail(spec.key + " does not belong to a " + scope_kind_name(scope.kind) + " scope");
    if (scope.kind != ScopeKind::host && scope.name.empty())
        return fail(spec.key + ": the " + std::string(scope_kind_name(scope.kind)) +
                    " scope has no name");
    // Names become path components: nothing that could climb out of the directory meant.
    const std::string& n = scope.name;
    const bool bad_word = n == "." || n == ".." || n.find('/') != std::string::npos;
    const bool bad_path = n.empty() || n[0] != '/' || n.find("/../") != std::string::npos ||
                          n.ends_with("/..") || n.find("/./") != std::string::npos;
    switch (scope.kind) {
        case ScopeKind::netns:
        case ScopeKind::device:
            if (bad_word)
                return fail("'" + n + "' is not a " + scope_kind_name(scope.kind) + " name");
            break;
        case ScopeKind::cgroup:
            if (bad_path)
                return fail("'" + n + "' is not a cgroup path (absolute, no . or .. parts)");
            break;
        case ScopeKind::pid:
            if (n.find_first_not_of("0123456789") != std::string::npos)
                return fail("'" + n + "' is not a process id");
            break;
        case ScopeKind::host:
            break;
    }
    return {};
}

}  // namespace perfbpf::tune
