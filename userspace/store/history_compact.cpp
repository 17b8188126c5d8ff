// Moving data down the tiers: head -> raw chunks, raw -> minute -> hour rollups, and
// retention by age and disk budget.
#include <limits>
#include <map>
#include <memory>

#include "store/derived_member.h"
#include "store/head_row.h"
#include "store/history_impl.h"

namespace perfbpf {
namespace {

// zstd level of a group. 15 made a host's hour of groups 1.8 % smaller, but
// history_bench's ingest (2,000 series, two compactions in 7,300 intervals) went from 318
// to 510 µs of CPU an interval: not worth 0.005 B/sample.
constexpr int kGroupZstdLevel = 9;

int64_t align_down(int64_t ts, int64_t span) {
    return ts - ((ts % span) + span) % span;
}

}  // namespace

Result<void> History::Impl::write_group(int64_t labelset, Tier tier,
                                        std::span<const GroupMember> members,
                                        const std::vector<int64_t>* timeline) {
    if (members.empty()) return {};
    std::vector<store::ChunkGroupMember> raw;
    raw.reserve(members.size());
    int64_t first = members.front().enc->first_ts(), last = members.front().enc->last_ts();
    for (const auto& m : members) {
        raw.push_back(store::ChunkGroupMember{m.id, m.enc->finish_raw(timeline)});
        first = std::min(first, m.enc->first_ts());
        last = std::max(last, m.enc->last_ts());
    }
    store::derive_members(
        raw, [this](uint32_t id) { return decimals(id); }, timelines());
    auto blob = store::encode_chunk_group(raw, kGroupZstdLevel);
    if (!blob) return std::unexpected(blob.error());
    insert_chunk.bind(1, labelset)
        .bind(2, static_cast<int64_t>(tier))
        .bind(3, first)
        .bind(4, last)
        .bind_blob(5, *blob);
    return insert_chunk.run();
}

Result<void> History::Impl::compact(int64_t before_ms) {
    const int64_t span = opt.chunk_ms[0];
    // Every chunk is encoded before the head rows go and written after, in one
    // transaction: the pages the head frees hold the chunks, so compaction also works
    // when the disk (or max_pages) is full, and is what makes room again.
    std::vector<std::unique_ptr<store::ChunkEncoder>> done;
    struct Done {
        SeriesId id;
        size_t index;
        int64_t window;
    };
    std::vector<Done> done_ids;
    // Every head row's timestamp, per raw span: stored once as that span's timeline, which
    // the span's chunks name instead of repeating the timestamps.
    std::map<int64_t, std::vector<int64_t>> timeline;
    std::vector<std::unique_ptr<store::ChunkEncoder>> open(series.size() + 1);
    std::vector<int64_t> window(series.size() + 1, kNone);
    auto encoder = [&](SeriesId id, int64_t ts) -> store::ChunkEncoder* {
        int64_t w = align_down(ts, span);
        if (open[id] && window[id] != w) {
            done_ids.push_back(Done{id, done.size(), window[id]});
            done.push_back(std::move(open[id]));
        }
        if (!open[id]) {
            bool hist = is_hist(id);
            open[id] = std::make_unique<store::ChunkEncoder>(store::chunk_columns(Tier::raw, hist),
                                                             hist, decimals(id));
            window[id] = w;
        }
        return open[id].get();
    };
    auto r = transaction([&]() -> Result<void> {
        auto rows = db.prepare("SELECT ts_ms, blob FROM head WHERE ts_ms < ? ORDER BY ts_ms",
                               "read head for compaction");
        if (!rows) return std::unexpected(rows.error());
        rows->bind(1, before_ms);
        while (true) {
            auto row = rows->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            int64_t ts = rows->int64(0);
            timeline[align_down(ts, span)].push_back(ts);
            auto decoded = store::decode_head_row(
                rows->blob(1),
                [&](SeriesId id, double v) {
                    if (id == 0 || id >= open.size() || is_hist(id)) return;
                    store::add_point(*encoder(id, ts), Tier::raw, false, ts, store::Agg::of(v),
                                     nullptr);
                },
                [&](SeriesId id, const Log2Histogram& h) {
                    if (id == 0 || id >= open.size() || !is_hist(id)) return;
                    store::add_point(*encoder(id, ts), Tier::raw, true, ts, store::Agg::one(), &h);
                });
            // A damaged row loses its interval, not the whole head.
            if (!decoded) ++deferred;
        }
        rows->reset();
        auto del = db.prepare("DELETE FROM head WHERE ts_ms < ?", "delete compacted head");
        if (!del) return std::unexpected(del.error());
        del->bind(1, before_ms);
        if (auto d = del->run(); !d) return d;
        for (const auto& [w, ts] : timeline) {
            auto blob = store::encode_timeline(ts);
            if (!blob) return std::unexpected(blob.error());
            insert_timeline.bind(1, ts.front()).bind(2, ts.back()).bind_blob(3, *blob);
            if (auto r = insert_timeline.run(); !r) return r;
        }
        auto timeline_of = [&](int64_t w) {
            auto it = timeline.find(w);
            return it == timeline.end() ? nullptr : &it->second;
        };
        // By label set and span: closed chunks come first, in time order, then the open ones.
        std::map<std::pair<int64_t, int64_t>, std::vector<GroupMember>> groups;
        for (const auto& d : done_ids)
            groups[{labelset(d.id), d.window}].push_back(GroupMember{d.id, done[d.index].get()});
        for (SeriesId id = 1; id < open.size(); ++id)
            if (open[id])
                groups[{labelset(id), window[id]}].push_back(GroupMember{id, open[id].get()});
        for (const auto& [key, members] : groups)
            if (auto w = write_group(key.first, Tier::raw, members, timeline_of(key.second)); !w)
                return w;
        return set_watermark(0, before_ms);
    });
    if (!r) return r;
    head_first = last_ts >= before_ms ? last_ts : kNone;
    if (auto u = roll_up(); !u) ++deferred;
    return {};
}

Result<void> History::Impl::roll_up() {
    for (size_t t = 1; t < kTiers; ++t) {
        const auto tier = static_cast<Tier>(t);
        const int64_t span = opt.chunk_ms[t];
        const int64_t src_wm = wm[t - 1];
        if (src_wm == kNone) continue;
        auto next_src = db.prepare(
            "SELECT min(start_ms) FROM chunks WHERE tier = ? AND start_ms >= ?", "find rollup");
        if (!next_src) return std::unexpected(next_src.error());
        int64_t x = wm[t];
        while (x == kNone || x + span <= src_wm) {
            // Skip spans without data in the finer tier (the daemon was down).
            next_src->bind(1, static_cast<int64_t>(t - 1)).bind(2, x == kNone ? kNone : x);
            auto row = next_src->step();
            if (!row) return std::unexpected(row.error());
            bool none = next_src->is_null(0);
            int64_t next = next_src->int64(0);
            next_src->reset();
            if (none) {
                x = align_down(src_wm, span);
                break;
            }
            if (x == kNone || next >= x + span) {
                x = align_down(next, span);
                continue;
            }
            if (auto w = roll_up_window(tier, x, x + span); !w) return w;
            x += span;
        }
        if (x != kNone && x != wm[t])
            if (auto w = transaction([&] { return set_watermark(t, x); }); !w) return w;
    }
    return {};
}

Result<void> History::Impl::roll_up_window(Tier tier, int64_t from_ms, int64_t to_ms) {
    const auto t = static_cast<size_t>(tier);
    const auto src = static_cast<Tier>(t - 1);
    const int64_t res = kTierResolutionMs[t];
    return transaction([&]() -> Result<void> {
        auto rows = db.prepare(
            "SELECT labelset, blob FROM chunks WHERE tier = ? AND start_ms >= ? AND start_ms < ? "
            "ORDER BY labelset, start_ms",
            "read chunks for rollup");
        if (!rows) return std::unexpected(rows.error());
        rows->bind(1, static_cast<int64_t>(t - 1)).bind(2, from_ms).bind(3, to_ms);
        int64_t current = 0;
        std::map<SeriesId, store::AggSeries> buckets;  // of the current label set
        store::AggSeries points;
        auto write = [&]() -> Result<void> {
            std::vector<std::unique_ptr<store::ChunkEncoder>> encs;
            std::vector<GroupMember> members;
            for (auto& [id, b] : buckets) {
                if (b.points.empty()) continue;
                bool hist = is_hist(id);
                // Rounding to tens or more would round the count column too; the raw
                // tier's values were rounded already, and the integer columns' gcd keeps
                // their sums and extremes as small.
                int d = decimals(id) < 0 ? store::kAllDecimals : decimals(id);
                encs.push_back(std::make_unique<store::ChunkEncoder>(
                    store::chunk_columns(tier, hist), hist, d));
                for (size_t i = 0; i < b.points.size(); ++i)
                    store::add_point(*encs.back(), tier, hist, b.points[i].ts_ms, b.points[i].agg,
                                     hist ? &b.hists[i] : nullptr);
                members.push_back(GroupMember{id, encs.back().get()});
            }
            buckets.clear();
            return write_group(current, tier, members);
        };
        while (true) {
            auto row = rows->step();
            if (!row) return std::unexpected(row.error());
            if (!*row) break;
            int64_t set = rows->int64(0);
            if (set != current) {
                if (auto w = write(); !w) return w;
                current = set;
            }
            auto group = store::decode_chunk_group(rows->blob(1));
            if (!group) {
                ++deferred;  // a damaged chunk is left out of the rollup, not the whole span
                continue;
            }
            for (const auto& e : group->entries) {
                auto decoded = store::decode_group_member(*group, e, timelines());
                points.clear();
                points.histogram = is_hist(e.series_id);
                if (!decoded || !store::chunk_aggs(*decoded, src, from_ms, to_ms - 1, points)) {
                    ++deferred;
                    continue;
                }
                auto& b = buckets[e.series_id];
                b.histogram = points.histogram;
                for (size_t i = 0; i < points.points.size(); ++i)
                    b.merge_into(points.points[i].ts_ms, points.points[i].agg,
                                 points.histogram ? &points.hists[i] : nullptr, res);
            }
        }
        if (auto w = write(); !w) return w;
        return set_watermark(t, to_ms);
    });
}

Result<void> History::enforce_retention(int64_t now_ms) {
    auto& im = *impl_;
    for (size_t t = 0; t < kTiers; ++t) {
        auto r = im.transaction([&]() -> Result<void> {
            auto del = im.db.prepare("DELETE FROM chunks WHERE tier = ? AND end_ms < ?",
                                     "delete chunks past retention");
            if (!del) return std::unexpected(del.error());
            del->bind(1, static_cast<int64_t>(t)).bind(2, now_ms - im.opt.retention_ms[t]);
            return del->run();
        });
        if (!r) return r;
    }
    auto live_bytes = [&]() -> Result<int64_t> {
        return im.db.scalar(
            "SELECT p.page_count - f.freelist_count FROM pragma_page_count() p, "
            "pragma_freelist_count() f",
            "measure live pages");
    };
    auto page_size = im.db.scalar("PRAGMA page_size", "read page_size");
    if (!page_size) return std::unexpected(page_size.error());
    while (true) {
        auto pages = live_bytes();
        if (!pages) return std::unexpected(pages.error());
        if (static_cast<uint64_t>(*pages * *page_size) <= im.opt.budget_bytes) break;
        // Oldest span of the finest tier whose data a coarser tier already holds.
        bool deleted = false;
        for (size_t t = 0; t < kTiers && !deleted; ++t) {
            int64_t limit = t + 1 < kTiers ? im.wm[t + 1] : std::numeric_limits<int64_t>::max();
            if (limit == kNone) continue;
            auto oldest = im.db.prepare(
                "SELECT min(start_ms) FROM chunks WHERE tier = ? AND end_ms < ?", "find oldest");
            if (!oldest) return std::unexpected(oldest.error());
            oldest->bind(1, static_cast<int64_t>(t)).bind(2, limit);
            if (auto row = oldest->step(); !row) return std::unexpected(row.error());
            if (oldest->is_null(0)) continue;
            int64_t cut = align_down(oldest->int64(0), im.opt.chunk_ms[t]) + im.opt.chunk_ms[t];
            auto r = im.transaction([&]() -> Result<void> {
                auto del = im.db.prepare(
                    "DELETE FROM chunks WHERE tier = ? AND start_ms < ? AND end_ms < ?",
                    "delete chunks over budget");
                if (!del) return std::unexpected(del.error());
                del->bind(1, static_cast<int64_t>(t)).bind(2, cut).bind(3, limit);
                return del->run();
            });
            if (!r) return r;
            deleted = true;
        }
        if (!deleted) break;  // only the head and unrolled data remain: nothing to give up
    }
    // A timeline is named only by raw chunks starting within it.
    auto orphans = im.transaction([&]() -> Result<void> {
        return im.db.exec(
            "DELETE FROM timelines WHERE end_ms < coalesce((SELECT min(start_ms) FROM chunks "
            "WHERE tier = 0), 9223372036854775807)",
            "delete timelines no chunk names");
    });
    if (!orphans) return orphans;
    // The deletions went through the WAL; a truncating checkpoint moves the shrunken file
    // into place and empties the WAL, so the space shows on disk.
    return im.db.exec("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);",
                      "give freed pages back");
}

}  // namespace perfbpf
