// The aggregate every tier and every query step reduces to: min, max, sum, count and last
// of the intervals it covers, and for histograms their merged slots. Merging is
// associative, so a day's p99 comes from merged buckets, never from averaged p99s.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "model/histogram.h"
#include "model/series.h"
#include "model/series_result.h"
#include "store/chunk_codec.h"
#include "util/result.h"

namespace perfbpf::store {

struct Agg {
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    double sum = 0;
    double last = 0;
    uint64_t count = 0;

    static Agg of(double v) { return Agg{v, v, v, v, 1}; }
    static Agg one() { return Agg{0, 0, 0, 0, 1}; }  // a histogram's interval
    // `later` covers a later time than this.
    void merge(const Agg& later);
};

struct AggPoint {
    int64_t ts_ms;
    Agg agg;
};

// A series' points in time order; histogram series carry their slots alongside (kept
// apart: 256 bytes a point that scalar series, most of them, would carry for nothing).
struct AggSeries {
    bool histogram = false;
    std::vector<AggPoint> points;
    std::vector<Log2Histogram> hists;  // histogram: one per point

    void add(int64_t ts_ms, const Agg& agg, const Log2Histogram* hist);
    // Merges into the last point when it is the same bucket of `bucket_ms` (aligned to the
    // epoch), else starts one stamped with the bucket's start.
    void merge_into(int64_t ts_ms, const Agg& agg, const Log2Histogram* hist, int64_t bucket_ms);
    void clear() {
        points.clear();
        hists.clear();
    }
};

// Columns of a chunk per tier: raw scalars keep the value, raw histograms only slots;
// rolled-up scalars keep min, max, sum, count, last; rolled-up histograms count and slots.
size_t chunk_columns(Tier tier, bool histogram);
void add_point(ChunkEncoder& enc, Tier tier, bool histogram, int64_t ts_ms, const Agg& agg,
               const Log2Histogram* hist);
// A decoded chunk's points in [from_ms, to_ms] appended to `out`.
Result<void> chunk_aggs(const ChunkPoints& points, Tier tier, int64_t from_ms, int64_t to_ms,
                        AggSeries& out);

// Points merged into buckets of `bucket_ms`.
AggSeries bucket(const AggSeries& series, int64_t bucket_ms);

}  // namespace perfbpf::store
