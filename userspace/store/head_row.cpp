#include "store/head_row.h"

#include <bit>

namespace perfbpf::store {

void encode_head_row(std::string& out, std::span<const std::pair<uint32_t, double>> values,
                     std::span<const std::pair<uint32_t, const Log2Histogram*>> hists) {
    static const Log2Histogram kEmpty;
    for (const auto& [id, v] : values) {
        put_varint(out, uint64_t{id} << 1);
        uint64_t bits = std::bit_cast<uint64_t>(v);
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
    }
    for (const auto& [id, h] : hists) {
        put_varint(out, uint64_t{id} << 1 | 1);
        put_hist_delta(out, h ? *h : kEmpty, kEmpty);
    }
}

}  // namespace perfbpf::store
