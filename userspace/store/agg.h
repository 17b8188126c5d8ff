// The aggregate every tier and every query step reduces to: min, max, sum, count and last
// of the intervals it covers, and for histograms their merged slots. Merging is
// associative, so a day's p99 comes from merged buckets, never from averaged p99s.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "model/histogram.h"
#include "model/series.h"
#include "store/chunk_codec.h"
#include "store/tier.h"
#include "util/result.h"

namespace perfbpf::store {

struct Agg {
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    double sum = 0;
    double last = 0;
    uint64_t count = 0;
    Log2Histogram hist;

    static Agg of(double v) { return Agg{v, v, v, v, 1, {}}; }
    static Agg of(const Log2Histogram& h) {
        Agg a;
        a.count = 1;
        a.hist = h;
        return a;
    }
    // `later` covers a later time than this.
    void merge(const Agg& later);
};

struct AggPoint {
    int64_t ts_ms;
    Agg agg;
};

// Columns of a chunk per tier: raw scalars keep the value, raw histograms only slots;
// rolled-up scalars keep min, max, sum, count, last; rolled-up histograms count and slots.
size_t chunk_columns(Tier tier, bool histogram);
void add_point(ChunkEncoder& enc, Tier tier, bool histogram, int64_t ts_ms, const Agg& agg);
// A decoded chunk's points as aggregates, keeping those in [from_ms, to_ms].
Result<void> chunk_aggs(const ChunkPoints& points, Tier tier, bool histogram, int64_t from_ms,
                        int64_t to_ms, std::vector<AggPoint>& out);

// Merges a point into time-ordered buckets of `bucket_ms` (aligned to the epoch).
void merge_into(std::vector<AggPoint>& buckets, const AggPoint& point, int64_t bucket_ms);
// Merges time-ordered points into buckets of `bucket_ms` (aligned to the epoch), each
// stamped with its start.
std::vector<AggPoint> bucket(const std::vector<AggPoint>& points, int64_t bucket_ms);

}  // namespace perfbpf::store
