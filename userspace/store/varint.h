// LEB128 varints and zigzag, the integer encoding of chunks and head rows: small deltas
// (the common case of regular timestamps and slowly moving counters) take one byte.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace perfbpf::store {

inline uint64_t zigzag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t unzigzag(uint64_t v) {
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Integers up to 2^53 are exact in a double, and their deltas cannot overflow int64.
inline constexpr double kMaxExactInteger = 9007199254740992.0;

// A double that is an integer a varint can carry exactly (|v| <= kMaxExactInteger). -0.0 is
// not: it would come back as +0.0.
inline bool exact_integer(double v) {
    return std::isfinite(v) && std::fabs(v) <= kMaxExactInteger && v == std::trunc(v) &&
           !(v == 0 && std::signbit(v));
}

inline void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

// Consumes a varint from the front of `in`; false when truncated or longer than 10 bytes.
inline bool get_varint(std::string_view& in, uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 70 && !in.empty(); shift += 7) {
        auto b = static_cast<uint8_t>(in.front());
        in.remove_prefix(1);
        v |= static_cast<uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

}  // namespace perfbpf::store
