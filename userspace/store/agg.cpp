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
}

void AggSeries::add(int64_t ts_ms, const Agg& agg, const Log2Histogram* hist) {
    points.push_back({ts_ms, agg});
    if (histogram) hists.push_back(hist ? *hist : Log2Histogram{});
}

void AggSeries::merge_into(int64_t ts_ms, const Agg& agg, const Log2Histogram* hist,
                           int64_t bucket_ms) {
    int64_t start = ts_ms - ((ts_ms % bucket_ms) + bucket_ms) % bucket_ms;
    if (points.empty() || points.back().ts_ms != start) add(start, Agg{}, nullptr);
    points.back().agg.merge(agg);
    if (histogram && hist) hists.back().merge(*hist);
}

size_t chunk_columns(Tier tier, bool histogram) {
    if (tier == Tier::raw) return histogram ? 0 : 1;
    return histogram ? 1 : 5;
}

void add_point(ChunkEncoder& enc, Tier tier, bool histogram, int64_t ts_ms, const Agg& agg,
               const Log2Histogram* hist) {
    const double count = static_cast<double>(agg.count);
    if (tier == Tier::raw) {
        enc.add(ts_ms,
                histogram ? std::span<const double>{} : std::span<const double>(&agg.last, 1),
                histogram ? hist : nullptr);
    } else if (histogram) {
        enc.add(ts_ms, std::span<const double>(&count, 1), hist);
    } else {
        const double cols[5] = {agg.min, agg.max, agg.sum, count, agg.last};
        enc.add(ts_ms, cols, nullptr);
    }
}

Result<void> chunk_aggs(const ChunkPoints& p, Tier tier, int64_t from_ms, int64_t to_ms,
                        AggSeries& out) {
    const bool histogram = out.histogram;
    if (p.columns.size() != chunk_columns(tier, histogram) || (histogram && p.hists.empty()))
        return fail("chunk: " + std::to_string(p.columns.size()) +
                    " columns do not fit its series' tier and kind");
    for (size_t i = 0; i < p.ts.size(); ++i) {
        if (p.ts[i] < from_ms || p.ts[i] > to_ms) continue;
        Agg a;
        if (tier == Tier::raw) {
            a = histogram ? Agg::one() : Agg::of(p.columns[0][i]);
        } else if (histogram) {
            a.count = static_cast<uint64_t>(p.columns[0][i]);
        } else {
            a = Agg{p.columns[0][i], p.columns[1][i], p.columns[2][i], p.columns[4][i],
                    static_cast<uint64_t>(p.columns[3][i])};
        }
        out.add(p.ts[i], a, histogram ? &p.hists[i] : nullptr);
    }
    return {};
}

AggSeries bucket(const AggSeries& series, int64_t bucket_ms) {
    AggSeries out;
    out.histogram = series.histogram;
    for (size_t i = 0; i < series.points.size(); ++i)
        out.merge_into(series.points[i].ts_ms, series.points[i].agg,
                       series.histogram ? &series.hists[i] : nullptr, bucket_ms);
    return out;
}

}  // namespace perfbpf::store
