#include "store/labelset_members.h"

#include <bit>

#include "store/varint.h"

namespace perfbpf::store {

namespace {
constexpr unsigned kKindBits = 3;
constexpr uint64_t kKinds = static_cast<uint64_t>(MetricKind::histogram) + 1;
}  // namespace

void put_member(std::string& out, uint32_t last_id, const LabelsetMember& m) {
    put_varint(out, m.series_id - last_id);
    put_varint(out,
               static_cast<uint64_t>(m.metric_id) << kKindBits | static_cast<uint64_t>(m.kind));
}

Result<std::vector<LabelsetMember>> decode_members(std::string_view blob) {
    std::vector<LabelsetMember> out;
    uint64_t id = 0;
    while (!blob.empty()) {
        uint64_t step = 0, metric = 0;
        if (!get_varint(blob, step) || !get_varint(blob, metric))
            return fail("label set members: truncated after " + std::to_string(out.size()));
        id += step;
        const uint64_t kind = metric & ((1u << kKindBits) - 1);
        if (step == 0 || id > UINT32_MAX || kind >= kKinds || (metric >> kKindBits) == 0)
            return fail("label set members: bad member " + std::to_string(out.size()) +
                        " (series " + std::to_string(id) + ", kind " + std::to_string(kind) + ")");
        out.push_back(LabelsetMember{static_cast<uint32_t>(id),
                                     static_cast<int64_t>(metric >> kKindBits),
                                     static_cast<MetricKind>(kind)});
    }
    return out;
}

int64_t labels_hash(std::string_view labels) {
    uint64_t h = 14695981039346656037ull;
    for (char c : labels) {
        h ^= static_cast<uint8_t>(c);
        h *= 1099511628211ull;
    }
    return std::bit_cast<int64_t>(h);
}

}  // namespace perfbpf::store
