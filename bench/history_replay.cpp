// Re-stores a daemon's history with this build's encoding and prints what it costs:
// the same samples, so an encoding change is measured on a real host's series instead of
// a synthetic mix. Usage: history_replay SRC_STATE_DIR DST_DIR (DST_DIR must not exist).
// Opening SRC upgrades an older schema in place: give it a copy of a daemon's history.
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/selector.h"
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
        for (auto& s : *res)
            for (size_t i = 0; i < s.points.size(); ++i) {
                SeriesSample x{s.key, s.kind, s.points[i].value, {}};
                if (s.kind == MetricKind::histogram && i < s.hists.size()) x.hist = s.hists[i];
                by_ts[s.points[i].ts_ms].push_back(std::move(x));
                ++samples;
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
    sqlite3_close(db);
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
    return 0;
}
