// One head row: every series' value of one interval, so an interval is one insert.
// Entries are varint (id << 1 | is_histogram), then 8 bytes of the double (little endian)
// or the histogram's sparse slots.
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

// Calls on_value(id, double) and on_hist(id, const Log2Histogram&) per entry.
template <class OnValue, class OnHist>
Result<void> decode_head_row(std::string_view row, OnValue&& on_value, OnHist&& on_hist) {
    static const Log2Histogram kEmpty;
    while (!row.empty()) {
        uint64_t tag = 0;
        if (!get_varint(row, tag) || (tag >> 1) > UINT32_MAX)
            return fail("head row: bad series id");
        auto id = static_cast<uint32_t>(tag >> 1);
        if (tag & 1) {
            Log2Histogram h;
            if (!get_hist_delta(row, kEmpty, h)) return fail("head row: truncated histogram");
            on_hist(id, h);
        } else {
            if (row.size() < 8) return fail("head row: truncated value");
            uint64_t bits = 0;
            for (int i = 7; i >= 0; --i) bits = (bits << 8) | static_cast<uint8_t>(row[i]);
            row.remove_prefix(8);
            double v;
            std::memcpy(&v, &bits, sizeof v);
            on_value(id, v);
        }
    }
    return {};
}

}  // namespace perfbpf::store
