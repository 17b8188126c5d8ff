// One head row: every series' value of one interval, so an interval is one insert.
// A row starts with a zero byte (version 2); its entries are a varint of the series id's
// change from the previous entry's (zigzag) shifted left by two, or'ed with the entry's
// type: a double (8 bytes, little endian), a histogram's sparse slots, or an integer
// (zigzag varint). Most values are integral counters, often zero: 2 bytes instead of 10
// for a row that lives until the hourly compaction. A row without the zero byte is
// version 1 (varint id << 1 | is_histogram, then a double or the slots), as written
// before, and still read.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "model/histogram.h"
#include "store/chunk_codec.h"
#include "store/varint.h"
#include "util/result.h"

namespace perfbpf::store {

void encode_head_row(std::string& out, std::span<const std::pair<uint32_t, double>> values,
                     std::span<const std::pair<uint32_t, const Log2Histogram*>> hists);

namespace head_detail {
inline constexpr uint64_t kDouble = 0, kHist = 1, kInt = 2;
inline bool get_double(std::string_view& row, double& v) {
    if (row.size() < 8) return false;
    uint64_t bits = 0;
    for (int i = 7; i >= 0; --i) bits = (bits << 8) | static_cast<uint8_t>(row[i]);
    row.remove_prefix(8);
    std::memcpy(&v, &bits, sizeof v);
    return true;
}
}  // namespace head_detail

// Calls on_value(id, double) and on_hist(id, const Log2Histogram&) per entry.
template <class OnValue, class OnHist>
Result<void> decode_head_row(std::string_view row, OnValue&& on_value, OnHist&& on_hist) {
    using namespace head_detail;
    static const Log2Histogram kEmpty;
    const bool v2 = !row.empty() && row.front() == 0;
    if (v2) row.remove_prefix(1);
    int64_t id = 0;
    while (!row.empty()) {
        uint64_t tag = 0;
        if (!get_varint(row, tag)) return fail("head row: bad series id");
        uint64_t type = v2 ? tag & 3 : tag & 1;
        id = v2 ? id + unzigzag(tag >> 2) : static_cast<int64_t>(tag >> 1);
        if (id < 0 || id > int64_t{UINT32_MAX}) return fail("head row: bad series id");
        auto sid = static_cast<uint32_t>(id);
        if (type == kHist) {
            Log2Histogram h;
            if (!get_hist_delta(row, kEmpty, h)) return fail("head row: truncated histogram");
            on_hist(sid, h);
        } else if (type == kInt && v2) {
            uint64_t z = 0;
            if (!get_varint(row, z)) return fail("head row: truncated value");
            on_value(sid, static_cast<double>(unzigzag(z)));
        } else if (type == kDouble) {
            double v;
            if (!get_double(row, v)) return fail("head row: truncated value");
            on_value(sid, v);
        } else {
            return fail("head row: unknown entry type " + std::to_string(type));
        }
    }
    return {};
}

}  // namespace perfbpf::store
