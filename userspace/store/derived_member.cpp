#include "store/derived_member.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <optional>

#include "store/varint.h"

namespace perfbpf::store {
namespace {

constexpr uint8_t kVersionDerived = 4;  // after chunk_codec's 1-3
constexpr int kMaxDecimals = 9;

// Log2Histogram::percentile_us(0.99) as of schema 4: nearest rank, each of a slot's samples
// at the centre of an equal share of it.
double p99_v1(const Log2Histogram& h) {
    const uint64_t total = h.count();
    if (total == 0) return 0.0;
    const double rank = std::max(1.0, std::ceil(0.99 * static_cast<double>(total)));
    double seen = 0;
    for (size_t i = 0; i < Log2Histogram::kSlots; ++i) {
        if (h.slot(i) == 0) continue;
        double next = seen + static_cast<double>(h.slot(i));
        if (rank <= next) {
            double frac = (rank - seen - 0.5) / static_cast<double>(h.slot(i));
            double lo = i == 0 ? 0.0 : std::ldexp(1.0, static_cast<int>(i) - 1);
            double hi = i == 0 ? 1.0 : std::ldexp(1.0, static_cast<int>(i));
            return lo + frac * (hi - lo);
        }
        seen = next;
    }
    return std::ldexp(1.0, static_cast<int>(Log2Histogram::kSlots) - 1);
}

bool same_value(double a, double b) {
    return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

std::string encode_reference(uint32_t source, Derivation f, int decimals) {
    std::string raw(1, static_cast<char>(kVersionDerived));
    put_varint(raw, source);
    raw.push_back(static_cast<char>(f));
    raw.push_back(static_cast<char>(static_cast<int8_t>(decimals)));
    return raw;
}

}  // namespace

double derive(const Log2Histogram& h, Derivation f, int decimals) {
    double v = f == Derivation::count ? static_cast<double>(h.count()) : p99_v1(h);
    if (decimals == kAllDecimals || decimals < -kMaxDecimals || decimals > kMaxDecimals) return v;
    // As ValueColumnEncoder rounds and decode_column restores.
    double scale = 1;
    for (int i = 0; i < std::abs(decimals); ++i) scale *= 10;
    double q = std::nearbyint(decimals >= 0 ? v * scale : v / scale);
    if (q == 0) return 0.0;
    auto n = static_cast<double>(static_cast<int64_t>(q));
    return decimals >= 0 ? n / scale : n * scale;
}

void derive_members(std::vector<ChunkGroupMember>& members,
                    const std::function<int(uint32_t)>& decimals_of,
                    const TimelineLookup& timelines) {
    std::map<uint32_t, int> times;  // a series twice in a group is left alone
    for (const auto& m : members) ++times[m.series_id];
    std::vector<std::pair<uint32_t, ChunkPoints>> hists;
    std::vector<std::optional<ChunkPoints>> scalars(members.size());
    for (size_t i = 0; i < members.size(); ++i) {
        if (times[members[i].series_id] != 1) continue;
        auto p = decode_raw_chunk(members[i].raw, timelines);
        if (!p) continue;
        if (!p->hists.empty())
            hists.emplace_back(members[i].series_id, std::move(*p));
        else if (p->columns.size() == 1)
            scalars[i] = std::move(*p);
    }
    if (hists.empty()) return;
    for (size_t i = 0; i < members.size(); ++i) {
        if (!scalars[i]) continue;
        const ChunkPoints& x = *scalars[i];
        const int decimals = decimals_of(members[i].series_id);
        for (const auto& [source, h] : hists) {
            if (h.ts != x.ts) continue;
            bool found = false;
            for (Derivation f : {Derivation::count, Derivation::p99}) {
                bool all = true;
                for (size_t k = 0; k < x.ts.size() && all; ++k)
                    all = same_value(derive(h.hists[k], f, decimals), x.columns[0][k]);
                if (!all) continue;
                std::string ref = encode_reference(source, f, decimals);
                if (ref.size() < members[i].raw.size()) members[i].raw = std::move(ref);
                found = true;
                break;
            }
            if (found) break;
        }
    }
}

Result<ChunkPoints> decode_group_member(const ChunkGroup& group, const ChunkGroup::Entry& e,
                                        const TimelineLookup& timelines) {
    std::string_view raw = group.member(e);
    if (raw.empty() || static_cast<uint8_t>(raw.front()) != kVersionDerived)
        return decode_raw_chunk(raw, timelines);
    raw.remove_prefix(1);
    uint64_t source = 0;
    if (!get_varint(raw, source) || raw.size() != 2)
        return fail("chunk: bad reference to a histogram member");
    const auto f = static_cast<Derivation>(raw[0]);
    const int decimals = static_cast<int8_t>(raw[1]);
    if (f != Derivation::count && f != Derivation::p99)
        return fail("chunk: unknown derivation " + std::to_string(static_cast<int>(raw[0])));
    const ChunkGroup::Entry* from = nullptr;
    for (const auto& other : group.entries)
        if (other.series_id == source && &other != &e) from = &other;
    if (!from)
        return fail("chunk: its histogram (series " + std::to_string(source) + ") is missing");
    auto h = decode_raw_chunk(group.member(*from), timelines);
    if (!h) return std::unexpected(h.error());
    if (h->hists.size() != h->ts.size())
        return fail("chunk: series " + std::to_string(source) + " is not a histogram");
    ChunkPoints out;
    out.ts = std::move(h->ts);
    out.columns.emplace_back();
    out.columns[0].reserve(out.ts.size());
    for (const auto& hist : h->hists) out.columns[0].push_back(derive(hist, f, decimals));
    return out;
}

}  // namespace perfbpf::store
