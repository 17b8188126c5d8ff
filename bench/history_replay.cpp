// Re-stores a daemon's history with this build's encoding and prints what it costs:
// the same samples, so an encoding change is measured on a real host's series instead of
// a synthetic mix. Usage: history_replay SRC_STATE_DIR DST_DIR (DST_DIR must not exist).
// Opening SRC upgrades an older schema in place: give it a copy of a daemon's history.
// Then where the bytes go: SQLite's dbstat by table and index, and the raw chunks' payload
// by metric (what each metric's members add to their groups' zstd frames); and whether
// every series reads back from the new history as from the old.
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/selector.h"
#include "store/chunk_codec.h"
#include "store/history.h"

using namespace perfbpf;

namespace {

int64_t scalar(sqlite3* db, const char* sql) {
    sqlite3_stmt* st = nullptr;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

std::vector<std::string> metrics(const std::string& dir) {
    std::vector<std::string> out;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2((dir + "/history.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(db, "SELECT name FROM metrics", -1, &st, nullptr);
        while (st && sqlite3_step(st) == SQLITE_ROW)
            out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

// Pages of each table and index (SQLite's dbstat), costliest first.
void print_dbstat(sqlite3* db, double samples) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, count(*), sum(pgsize), sum(payload), sum(unused) FROM "
                           "dbstat GROUP BY name ORDER BY sum(pgsize) DESC",
                           -1, &st, nullptr) != SQLITE_OK) {
        std::printf("dbstat: %s\n", sqlite3_errmsg(db));
        return;
    }
    std::printf("\n%-30s %6s %10s %10s %9s %8s\n", "table or index", "pages", "bytes", "payload",
                "unused", "B/sample");
    while (sqlite3_step(st) == SQLITE_ROW) {
        double bytes = static_cast<double>(sqlite3_column_int64(st, 2));
        std::printf("%-30s %6lld %10.0f %10lld %9lld %8.3f\n", sqlite3_column_text(st, 0),
                    static_cast<long long>(sqlite3_column_int64(st, 1)), bytes,
                    static_cast<long long>(sqlite3_column_int64(st, 3)),
                    static_cast<long long>(sqlite3_column_int64(st, 4)), bytes / samples);
    }
    sqlite3_finalize(st);
}

// Each metric's share of the raw chunks: its members' bytes before zstd, and what leaving
// them out of their groups saves after zstd (the shares overlap a little: zstd finds some
// of a member in its neighbours).
void print_payload_by_metric(sqlite3* db, const std::map<SeriesId, std::string>& metric_of,
                             const std::map<std::string, uint64_t>& points) {
    struct Cost {
        double raw = 0, zstd = 0;
    };
    std::map<std::string, Cost> cost;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT blob FROM chunks WHERE tier = 0", -1, &st, nullptr);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        std::string_view blob(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                              static_cast<size_t>(sqlite3_column_bytes(st, 0)));
        auto group = store::decode_chunk_group(blob);
        if (!group) continue;
        std::map<std::string, std::vector<store::ChunkGroupMember>> without;
        std::vector<store::ChunkGroupMember> all;
        for (const auto& e : group->entries) {
            auto it = metric_of.find(e.series_id);
            std::string metric = it == metric_of.end() ? "?" : it->second;
            cost[metric].raw += static_cast<double>(e.size);
            without.try_emplace(metric);
            all.push_back(store::ChunkGroupMember{e.series_id, std::string(group->member(e))});
        }
        for (auto& [metric, members] : without) {
            for (const auto& m : all)
                if (auto it = metric_of.find(m.series_id);
                    (it == metric_of.end() ? "?" : it->second) != metric)
                    members.push_back(m);
            auto rest = store::encode_chunk_group(members);
            if (rest)
                cost[metric].zstd +=
                    static_cast<double>(blob.size()) - static_cast<double>(rest->size());
        }
    }
    sqlite3_finalize(st);
    std::vector<std::pair<std::string, Cost>> sorted(cost.begin(), cost.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.second.zstd > b.second.zstd; });
    std::printf("\n%-28s %9s %10s %10s %7s\n", "metric (raw chunks)", "points", "raw bytes",
                "zstd share", "B/point");
    for (size_t i = 0; i < sorted.size() && i < 25; ++i) {
        auto it = points.find(sorted[i].first);
        double n = it == points.end() ? 0 : static_cast<double>(it->second);
        std::printf("%-28s %9.0f %10.0f %10.0f %7.2f\n", sorted[i].first.c_str(), n,
                    sorted[i].second.raw, sorted[i].second.zstd,
                    n > 0 ? sorted[i].second.zstd / n : 0);
    }
}

// Reads every metric back from both histories: the same series and timestamps, and how
// many values differ (none, unless the source kept more decimals than this build stores:
// a schema-2 history's ns counters). False when a series or a point went missing.
bool verify(History& src, const std::string& dst_dir, const std::vector<std::string>& names) {
    auto dst = History::open_existing(dst_dir);
    if (!dst) {
        std::fprintf(stderr, "history_replay: %s\n", dst.error().message.c_str());
        return false;
    }
    uint64_t series = 0, points = 0, differ = 0, lost = 0;
    double worst = 0;
    for (const auto& metric : names) {
        auto sel = parse_selector(metric);
        if (!sel) continue;
        const int64_t end = std::numeric_limits<int64_t>::max() / 2;
        auto a = src.query(*sel, 0, end, 0);
        auto b = dst->query(*sel, 0, end, 0);
        if (!a || !b) {
            std::fprintf(stderr, "history_replay: read back %s: %s\n", metric.c_str(),
                         (!a ? a.error() : b.error()).message.c_str());
            return false;
        }
        auto by_key = [](const SeriesResult& x, const SeriesResult& y) { return x.key < y.key; };
        std::sort(a->begin(), a->end(), by_key);
        std::sort(b->begin(), b->end(), by_key);
        series += a->size();
        for (size_t i = 0, j = 0; i < a->size(); ++i) {
            while (j < b->size() && (*b)[j].key < (*a)[i].key) ++j;
            if (j == b->size() || (*b)[j].key != (*a)[i].key) {
                lost += (*a)[i].points.size();
                continue;
            }
            const auto &x = (*a)[i], &y = (*b)[j];
            points += x.points.size();
            if (x.points.size() != y.points.size() || x.hists != y.hists) {
                lost += x.points.size();
                continue;
            }
            for (size_t k = 0; k < x.points.size(); ++k) {
                if (x.points[k].ts_ms != y.points[k].ts_ms) ++lost;
                if (std::bit_cast<uint64_t>(x.points[k].value) ==
                    std::bit_cast<uint64_t>(y.points[k].value))
                    continue;
                ++differ;
                worst = std::max(worst, std::fabs(x.points[k].value - y.points[k].value));
            }
        }
    }
    std::printf(
        "read back: %llu series, %llu points; %llu values differ (at most by %g), %llu "
        "points missing or moved\n",
        static_cast<unsigned long long>(series), static_cast<unsigned long long>(points),
        static_cast<unsigned long long>(differ), worst, static_cast<unsigned long long>(lost));
    return lost == 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: history_replay SRC_STATE_DIR DST_DIR\n");
        return 2;
    }
    std::string src = argv[1], dst = argv[2];
    if (std::filesystem::exists(dst)) {
        std::fprintf(stderr, "history_replay: %s exists\n", dst.c_str());
        return 2;
    }
    auto in = History::open_existing(src);
    if (!in) {
        std::fprintf(stderr, "history_replay: %s\n", in.error().message.c_str());
        return 1;
    }
    std::map<int64_t, std::vector<SeriesSample>> by_ts;
    std::vector<std::pair<SeriesKey, MetricKind>> keys;
    std::map<std::string, uint64_t> points_of_metric;
    uint64_t samples = 0;
    for (const auto& metric : metrics(src)) {
        auto sel = parse_selector(metric);
        if (!sel) continue;
        auto res = in->query(*sel, 0, std::numeric_limits<int64_t>::max() / 2, 0);
        if (!res) {
            std::fprintf(stderr, "history_replay: %s: %s\n", metric.c_str(),
                         res.error().message.c_str());
            return 1;
        }
        for (auto& s : *res) {
            keys.emplace_back(s.key, s.kind);
            points_of_metric[metric] += s.points.size();
            for (size_t i = 0; i < s.points.size(); ++i) {
                SeriesSample x{s.key, s.kind, s.points[i].value, {}};
                if (s.kind == MetricKind::histogram && i < s.hists.size()) x.hist = s.hists[i];
                by_ts[s.points[i].ts_ms].push_back(std::move(x));
                ++samples;
            }
        }
    }
    auto opened = History::open(dst);
    if (!opened) {
        std::fprintf(stderr, "history_replay: %s\n", opened.error().message.c_str());
        return 1;
    }
    auto out = std::make_unique<History>(std::move(*opened));
    int64_t first = by_ts.empty() ? 0 : by_ts.begin()->first;
    int64_t last = by_ts.empty() ? 0 : by_ts.rbegin()->first;
    for (const auto& [ts, list] : by_ts)
        if (auto r = out->append(ts, list); !r) {
            std::fprintf(stderr, "history_replay: append: %s\n", r.error().message.c_str());
            return 1;
        }
    double head_bytes = 0;
    {
        sqlite3* db = nullptr;
        sqlite3_open_v2((dst + "/history.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
        head_bytes = static_cast<double>(scalar(db, "SELECT sum(length(blob)) FROM head"));
        sqlite3_close(db);
    }
    if (auto r = out->flush(); !r) {
        std::fprintf(stderr, "history_replay: flush: %s\n", r.error().message.c_str());
        return 1;
    }
    if (auto r = out->enforce_retention(last); !r) {
        std::fprintf(stderr, "history_replay: retention: %s\n", r.error().message.c_str());
        return 1;
    }
    std::map<SeriesId, std::string> metric_of;
    for (const auto& [key, kind] : keys) metric_of[out->intern(key, kind)] = key.metric;
    out.reset();
    sqlite3* db = nullptr;
    sqlite3_open_v2((dst + "/history.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    double raw =
        static_cast<double>(scalar(db, "SELECT sum(length(blob)) FROM chunks WHERE tier = 0"));
    double all = static_cast<double>(scalar(db, "SELECT sum(length(blob)) FROM chunks"));
    double tl =
        static_cast<double>(scalar(db, "SELECT coalesce(sum(length(blob)), 0) FROM timelines"));
    double page = static_cast<double>(scalar(db, "PRAGMA page_size"));
    double live = page * static_cast<double>(scalar(db, "PRAGMA page_count") -
                                             scalar(db, "PRAGMA freelist_count"));
    struct stat st {};
    ::stat((dst + "/history.db").c_str(), &st);
    double n = static_cast<double>(samples);
    std::printf("%llu samples over %.1f min, %zu intervals\n",
                static_cast<unsigned long long>(samples), (last - first) / 60000.0, by_ts.size());
    std::printf("head before compaction  %12.0f B  %6.2f B/sample\n", head_bytes, head_bytes / n);
    std::printf("raw chunks (payload)    %12.0f B  %6.2f B/sample\n", raw, raw / n);
    std::printf("timelines               %12.0f B  %6.2f B/sample\n", tl, tl / n);
    std::printf("all tiers + timelines   %12.0f B  %6.2f B/sample\n", all + tl, (all + tl) / n);
    std::printf("live pages              %12.0f B  %6.2f B/sample\n", live, live / n);
    std::printf("file                    %12.0f B  %6.2f B/sample\n",
                static_cast<double>(st.st_size), static_cast<double>(st.st_size) / n);
    print_dbstat(db, n);
    print_payload_by_metric(db, metric_of, points_of_metric);
    sqlite3_close(db);
    return verify(*in, dst, metrics(src)) ? 0 : 1;
}
