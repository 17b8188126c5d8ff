// One {value, name} table per enum, instead of a to-string switch and a parse loop kept in
// step by hand: a value added to one and forgotten in the other was a name that printed but
// did not parse back. A table is constexpr data; name() and parse() read the same rows, and
// parse's error lists every valid name so a bad config key or journal field says what
// would have been accepted.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace perfbpf {

template <class E>
struct EnumName {
    E value;
    const char* name;  // a literal: callers concatenate and print it as they please
};

template <class E, size_t N>
class EnumTable {
  public:
    // `what` names the enum in parse errors ("severity", "knob kind").
    constexpr EnumTable(std::string_view what, const std::array<EnumName<E>, N>& rows)
        : what_(what), rows_(rows) {}

    // A value the table lacks (a new enumerator nobody named) prints as "?", which the
    // round-trip test of every table catches.
    constexpr const char* name(E value) const {
        for (const auto& r : rows_)
            if (r.value == value) return r.name;
        return "?";
    }
    constexpr std::optional<E> find(std::string_view name) const {
        for (const auto& r : rows_)
            if (std::string_view(r.name) == name) return r.value;
        return std::nullopt;
    }
    // "unknown severity 'x' (one of: ok, warning, critical)".
    Result<E> parse(std::string_view name) const {
        if (auto v = find(name)) return *v;
        return fail("unknown " + std::string(what_) + " '" + std::string(name) +
                    "' (one of: " + names() + ")");
    }
    // Every name in table order, joined by ", ".
    std::string names() const {
        std::string out;
        for (const auto& r : rows_) {
            if (!out.empty()) out += ", ";
            out += r.name;
        }
        return out;
    }
    constexpr std::string_view what() const { return what_; }
    constexpr const std::array<EnumName<E>, N>& rows() const { return rows_; }

  private:
    std::string_view what_;
    std::array<EnumName<E>, N> rows_;
};

// enum_table<Severity>("severity", {{{Severity::ok, "ok"}, ...}}): N from the rows.
template <class E, size_t N>
constexpr EnumTable<E, N> enum_table(std::string_view what, const EnumName<E> (&rows)[N]) {
    std::array<EnumName<E>, N> a{};
    for (size_t i = 0; i < N; ++i) a[i] = rows[i];
    return EnumTable<E, N>(what, a);
}

}  // namespace perfbpf
