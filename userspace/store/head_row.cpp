#include "store/head_row.h"

#include <bit>

namespace perfbpf::store {

void encode_head_row(std::string& out, std::span<const std::pair<uint32_t, double>> values,
                     std::span<const std::pair<uint32_t, const Log2Histogram*>> hists) {
    using namespace head_detail;
    static const Log2Histogram kEmpty;
    out.push_back('\0');
    int64_t prev = 0;
    auto tag = [&](uint32_t id, uint64_t type) {
        put_varint(out, zigzag(int64_t{id} - prev) << 2 | type);
        prev = id;
    };
    for (const auto& [id, v] : values) {
        if (exact_integer(v)) {
            tag(id, kInt);
            put_varint(out, zigzag(static_cast<int64_t>(v)));
            continue;
        }
        tag(id, kDouble);
        uint64_t bits = std::bit_cast<uint64_t>(v);
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
    }
    for (const auto& [id, h] : hists) {
        tag(id, kHist);
        put_hist_delta(out, h ? *h : kEmpty, kEmpty);
    }
}

}  // namespace perfbpf::store
