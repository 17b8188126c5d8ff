#include "store/agg.h"

#include <algorithm>

namespace perfbpf::store {

void Agg::merge(const Agg& later) {
    if (later.count == 0) return;
    min = std::min(min, later.min);
    max = std::max(max, later.max);
    sum += later.sum;
    last = later.last;
    count += later.count;
    hist.merge(later.hist);
}

size_t chunk_columns(Tier tier, bool histogram) {
    if (tier == Tier::raw) return histogram ? 0 : 1;
    return histogram ? 1 : 5;
}

void add_point(ChunkEncoder& enc, Tier tier, bool histogram, int64_t ts_ms, const Agg& agg) {
    const double count = static_cast<double>(agg.count);
    if (tier == Tier::raw) {
        enc.add(ts_ms,
                histogram ? std::span<const double>{} : std::span<const double>(&agg.last, 1),
                histogram ? &agg.hist : nullptr);
    } else if (histogram) {
        enc.add(ts_ms, std::span<const double>(&count, 1), &agg.hist);
    } else {
        const double cols[5] = {agg.min, agg.max, agg.sum, count, agg.last};
        enc.add(ts_ms, cols, nullptr);
    }
}

Result<void> chunk_aggs(const ChunkPoints& p, Tier tier, bool histogram, int64_t from_ms,
                        int64_t to_ms, std::vector<AggPoint>& out) {
    if (p.columns.size() != chunk_columns(tier, histogram) || (histogram && p.hists.empty()))
        return fail("chunk: " + std::to_string(p.columns.size()) +
                    " columns do not fit its series' tier and kind");
    for (size_t i = 0; i < p.ts.size(); ++i) {
        if (p.ts[i] < from_ms || p.ts[i] > to_ms) continue;
        Agg a;
        if (tier == Tier::raw) {
            a = histogram ? Agg::of(p.hists[i]) : Agg::of(p.columns[0][i]);
        } else if (histogram) {
            a.count = static_cast<uint64_t>(p.columns[0][i]);
            a.hist = p.hists[i];
        } else {
            a = Agg{p.columns[0][i],
                    p.columns[1][i],
                    p.columns[2][i],
                    p.columns[4][i],
                    static_cast<uint64_t>(p.columns[3][i]),
                    {}};
        }
        out.push_back({p.ts[i], std::move(a)});
    }
    return {};
}

void merge_into(std::vector<AggPoint>& buckets, const AggPoint& p, int64_t bucket_ms) {
    int64_t start = p.ts_ms - ((p.ts_ms % bucket_ms) + bucket_ms) % bucket_ms;
    if (buckets.empty() || buckets.back().ts_ms != start) buckets.push_back({start, {}});
    buckets.back().agg.merge(p.agg);
}

std::vector<AggPoint> bucket(const std::vector<AggPoint>& points, int64_t bucket_ms) {
    std::vector<AggPoint> out;
    for (const auto& p : points) merge_into(out, p, bucket_ms);
    return out;
}

}  // namespace perfbpf::store
