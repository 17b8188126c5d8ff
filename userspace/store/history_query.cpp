// Reading series back: the tier that fits the step, finer tiers and the head for what it
// has not rolled up yet, aggregated per step.
#include <algorithm>
#include <map>

#include "store/derived_member.h"
#include "store/head_row.h"
#include "store/history_impl.h"

namespace perfbpf {
namespace {

Tier tier_for_step(int64_t step_ms) {
    if (step_ms >= kTierResolutionMs[2]) return Tier::hour;
    if (step_ms >= kTierResolutionMs[1]) return Tier::minute;
    return Tier::raw;
}

QueryPoint to_query_point(int64_t ts_ms, const store::Agg& a, const Log2Histogram* hist,
                          MetricKind kind) {
    QueryPoint q;
    q.ts_ms = ts_ms;
    q.count = a.count;
    if (kind == MetricKind::histogram) {
        q.p50_us = hist->percentile_us(0.5);
        q.p99_us = hist->percentile_us(0.99);
        q.value = q.p99_us;
        return q;
    }
    q.min = a.min;
    q.max = a.max;
    q.sum = a.sum;
    q.last = a.last;
    switch (kind) {
        case MetricKind::counter:
            q.value = a.sum;
            break;
        case MetricKind::gauge:
            q.value = a.count ? a.sum / static_cast<double>(a.count) : 0;
            break;
        default:
            q.value = a.last;
    }
    return q;
}

}  // namespace

Result<std::vector<SeriesResult>> History::query(const Selector& selector, int64_t from_ms,
                                                 int64_t to_ms, int64_t step_ms) {
    auto& im = *impl_;
    if (step_ms < 0) return fail("history: query step must not be negative");
    if (from_ms > to_ms) return fail("history: query range ends before it starts");
    const Tier tier = tier_for_step(step_ms);
    const auto top = static_cast<size_t>(tier);

    // A reader sees one snapshot of the writer's database through the whole query, taken
    // with the watermarks and series it had then.
    struct ReadSnapshot {
        store::Db* db = nullptr;
        ~ReadSnapshot() {
            if (db) (void)db->exec("COMMIT", "end query");
        }
    } snapshot;
    if (im.reader) {
        if (auto b = im.db.exec("BEGIN", "begin query"); !b) return std::unexpected(b.error());
        snapshot.db = &im.db;
        if (auto w = im.load_watermarks(); !w) return std::unexpected(w.error());
        if (auto s = im.load_new_series(); !s) return std::unexpected(s.error());
    }

    std::vector<SeriesId> ids;
    std::vector<SeriesKey> keys;
    std::vector<int> slot(im.series.size() + 1, -1);
    auto matched = im.for_each_series([&](SeriesId id, const SeriesKey& key) {
        if (!matches(selector, key)) return;
        slot[id] = static_cast<int>(ids.size());
        ids.push_back(id);
        keys.push_back(key);
    });
    if (!matched) return std::unexpected(matched.error());
    std::vector<store::AggSeries> points(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) points[i].histogram = im.is_hist(ids[i]);

    // Chunks hold a label set's series together: each group is read once for all the
    // matched series it holds.
    std::map<int64_t, std::vector<SeriesId>> by_labelset;
    for (SeriesId id : ids) by_labelset[im.labelset(id)].push_back(id);
    auto chunks = im.db.prepare(
        "SELECT blob FROM chunks WHERE labelset = ? AND tier = ? AND end_ms >= ? AND "
        "start_ms <= ? ORDER BY start_ms",
        "read chunks for query");
    if (!chunks) return std::unexpected(chunks.error());
    // Tier k answers [lo, hi]: the chosen tier from `from`, each finer one from where the
    // coarser one stops.
    for (size_t k = top + 1; k-- > 0;) {
        int64_t lo = from_ms;
        if (k < top && im.wm[k + 1] != kNone) lo = std::max(lo, im.wm[k + 1]);
        int64_t hi = im.wm[k] == kNone ? kNone : std::min(to_ms, im.wm[k] - 1);
        if (hi == kNone || lo > hi) continue;
        for (const auto& [labelset, members] : by_labelset) {
            chunks->bind(1, labelset).bind(2, static_cast<int64_t>(k)).bind(3, lo).bind(4, hi);
            while (true) {
                auto row = chunks->step();
                if (!row) return std::unexpected(row.error());
                if (!*row) break;
                auto group = store::decode_chunk_group(chunks->blob(0));
                if (!group)
                    return fail("history: " + im.path + ": label set " + std::to_string(labelset) +
                                ": " + group.error().message);
                for (const auto& e : group->entries) {
                    if (e.series_id >= slot.size() || slot[e.series_id] < 0) continue;
                    auto decoded = store::decode_group_member(*group, e, im.timelines());
                    if (!decoded)
                        return fail("history: " + im.path + ": series " +
                                    std::to_string(e.series_id) + ": " + decoded.error().message);
                    auto r = store::chunk_aggs(*decoded, static_cast<Tier>(k), lo, hi,
                                               points[slot[e.series_id]]);
                    if (!r) return std::unexpected(r.error());
                }
            }
            chunks->reset();
        }
    }

    int64_t head_lo = im.wm[0] == kNone ? from_ms : std::max(from_ms, im.wm[0]);
    if (!ids.empty() && head_lo <= to_ms) {
        auto rows = im.db.prepare(
            "SELECT ts_ms, blob FROM head WHERE ts_ms >= ? AND ts_ms <= ? ORDER BY ts_ms",
            "read head for query");
        if (!rows) return std::unexpected(rows.error());
        rows->bind(1, head_lo).bind(2, to_ms);
        while (true) {
            auto row = rows->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            int64_t ts = rows->int64(0);
            auto wanted = [&](SeriesId id) { return id < slot.size() ? slot[id] : -1; };
            auto r = store::decode_head_row(
                rows->blob(1),
                [&](SeriesId id, double v) {
                    if (int s = wanted(id); s >= 0 && !im.is_hist(id))
                        points[s].add(ts, store::Agg::of(v), nullptr);
                },
                [&](SeriesId id, const Log2Histogram& h) {
                    if (int s = wanted(id); s >= 0 && im.is_hist(id))
                        points[s].add(ts, store::Agg::one(), &h);
                });
            if (!r)
                return fail("history: " + im.path + ": head row at " + std::to_string(ts) +
                            " ms: " + r.error().message);
        }
    }

    std::vector<SeriesResult> out;
    for (size_t i = 0; i < ids.size(); ++i) {
        SeriesResult res{std::move(keys[i]), im.series[ids[i] - 1].kind, tier, {}, {}};
        if (step_ms > 0) points[i] = store::bucket(points[i], step_ms);
        const auto& pts = points[i].points;
        res.points.reserve(pts.size());
        for (size_t p = 0; p < pts.size(); ++p)
            res.points.push_back(to_query_point(pts[p].ts_ms, pts[p].agg,
                                                points[i].histogram ? &points[i].hists[p] : nullptr,
                                                res.kind));
        res.hists = std::move(points[i].hists);
        out.push_back(std::move(res));
    }
    return out;
}

}  // namespace perfbpf
