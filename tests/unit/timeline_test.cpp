// Moving through a replay or the history: where each time key leads (sinks/timeline.h),
// playback state, the REPLAY/HISTORY line, and verdicts for a snapshot picked by index.
#include "sinks/timeline.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "detect/verdict_window.h"
#include "sinks/seekable_source.h"
#include "sinks/snapshot_record.h"
#include "sinks/top_view.h"

namespace perfbpf {
namespace {

constexpr int64_t kBaseMs = 1'700'000'000'000;

// `n` snapshots ending `step_ms` apart.
std::vector<int64_t> times(size_t n, int64_t step_ms = 1000) {
    std::vector<int64_t> t;
    for (size_t i = 0; i < n; ++i) t.push_back(kBaseMs + static_cast<int64_t>(i) * step_ms);
    return t;
}

size_t after_keys(const std::vector<int64_t>& t, size_t from, std::initializer_list<int> keys) {
    for (int k : keys) from = seek(t, from, k);
    return from;
}

TEST(Timeline, ArrowsStepOneInterval) {
    auto t = times(300);
    EXPECT_EQ(after_keys(t, 0, {top_key::right, top_key::right, top_key::right}), 3u);
    EXPECT_EQ(after_keys(t, 3, {top_key::left}), 2u);
    EXPECT_EQ(after_keys(t, 0, {top_key::left, top_key::left}), 0u);
    EXPECT_EQ(after_keys(t, 299, {top_key::right}), 299u);
}

TEST(Timeline, PagesMoveAMinuteByTimeNotByCount) {
    auto t = times(300);
    EXPECT_EQ(seek(t, 100, top_key::page_up), 40u);
    EXPECT_EQ(t[100] - t[40], 60'000);
    EXPECT_EQ(seek(t, 100, top_key::page_down), 160u);
    // Half-second intervals: a minute is 120 of them.
    auto half = times(400, 500);
    EXPECT_EQ(seek(half, 300, top_key::page_up), 180u);
    EXPECT_EQ(seek(half, 100, top_key::page_down), 220u);
    // Uneven steps: the last snapshot at least a minute back, the first at least one ahead.
    std::vector<int64_t> uneven = {0, 10'000, 55'000, 70'000, 125'000, 200'000};
    EXPECT_EQ(seek(uneven, 4, top_key::page_up), 2u);    // 125 s - 60 s = 65 s: 55 s
    EXPECT_EQ(seek(uneven, 1, top_key::page_down), 3u);  // 10 s + 60 s = 70 s
    EXPECT_EQ(seek(uneven, 2, top_key::page_down), 4u);  // 115 s: 125 s
}

TEST(Timeline, PagesJumpGapsInTheHistory) {
    // The daemon was down for an hour between 9 and 10.
    std::vector<int64_t> t = times(10);
    for (int64_t i = 0; i < 10; ++i) t.push_back(kBaseMs + 3'600'000 + i * 1000);
    EXPECT_EQ(seek(t, 5, top_key::page_down), 10u);  // across the gap, to its first
    EXPECT_EQ(seek(t, 12, top_key::page_up), 9u);    // back to the last before it
}

TEST(Timeline, HomeEndAndBounds) {
    auto t = times(300);
    EXPECT_EQ(seek(t, 100, top_key::end), 299u);
    EXPECT_EQ(seek(t, 100, top_key::home), 0u);
    EXPECT_EQ(seek(t, 30, top_key::page_up), 0u);  // less than a minute in: the first
    EXPECT_EQ(seek(t, 0, top_key::page_up), 0u);
    EXPECT_EQ(seek(t, 280, top_key::page_down), 299u);  // less than a minute left: the last
    EXPECT_EQ(seek(t, 299, top_key::page_down), 299u);
    EXPECT_EQ(seek(t, 5000, top_key::left), 298u);  // beyond the end: from the last
    EXPECT_EQ(seek(t, 7, 'x'), 7u);
    EXPECT_EQ(seek(t, 7, top_key::up), 7u);  // Up/Down select rows, not time
    for (int k : {top_key::left, top_key::right, top_key::page_up, top_key::page_down,
                  top_key::home, top_key::end})
        EXPECT_EQ(seek(std::vector<int64_t>{}, 0, k), 0u);
    auto one = times(1);
    EXPECT_EQ(seek(one, 0, top_key::page_down), 0u);
    EXPECT_EQ(seek(one, 0, top_key::right), 0u);
}

TEST(Timeline, PagingReadsFewTimesOfALongHistory) {
    // A day of 0.1 s intervals: paging must not read every snapshot's time.
    const size_t n = 864'000;
    size_t reads = 0;
    auto time_ms = [&](size_t i) {
        ++reads;
        return kBaseMs + static_cast<int64_t>(i) * 100;
    };
    EXPECT_EQ(seek(n, time_ms, 500'000, top_key::page_up), 499'400u);
    EXPECT_EQ(seek(n, time_ms, 500'000, top_key::page_down), 500'600u);
    EXPECT_LT(reads, 60u);
}

TEST(Timeline, SpacePlaysAndPausesMovesPause) {
    auto t = times(10);
    auto time_ms = [&](size_t i) { return t[i]; };
    Playback p;  // replay starts playing at the first
    EXPECT_TRUE(p.playing);
    EXPECT_EQ(p.index, 0u);
    p = press_time_key(p, t.size(), time_ms, ' ');
    EXPECT_FALSE(p.playing);
    p = press_time_key(p, t.size(), time_ms, 'p');
    EXPECT_TRUE(p.playing);
    p = press_time_key(p, t.size(), time_ms, top_key::right);
    EXPECT_EQ(p.index, 1u);
    EXPECT_FALSE(p.playing);
    p = press_time_key(p, t.size(), time_ms, top_key::end);
    EXPECT_EQ(p.index, 9u);
    p = press_time_key(p, t.size(), time_ms, ' ');  // at the end: again from the first
    EXPECT_TRUE(p.playing);
    EXPECT_EQ(p.index, 0u);
    Playback q = press_time_key(p, t.size(), time_ms, 'M');  // not a time key
    EXPECT_EQ(q.index, p.index);
    EXPECT_EQ(q.playing, p.playing);
    EXPECT_FALSE(is_time_key(top_key::up));
    EXPECT_FALSE(is_time_key(top_key::down));
    EXPECT_TRUE(is_time_key(top_key::left));
}

// Runs `body` with TZ set to `tz`, putting the old one back.
template <class F>
void with_tz(const char* tz, F body) {
    const char* old = std::getenv("TZ");
    std::string saved = old ? old : "";
    setenv("TZ", tz, 1);
    tzset();
    body();
    if (old)
        setenv("TZ", saved.c_str(), 1);
    else
        unsetenv("TZ");
    tzset();
}

TEST(Timeline, LineSaysWhatWhenAndWhereInLocalTime) {
    // 2026-12-05 03:12:07 UTC
    const int64_t ms = 1'796'440'327'000;
    with_tz("UTC", [&] {
        EXPECT_EQ(timeline_line("REPLAY", ms, 11, 300, true),
                  "REPLAY 2026-12-05 03:12:07 (12/300)  playing");
    });
    with_tz("CET-1", [&] {
        EXPECT_EQ(timeline_line("HISTORY", ms + 999, 0, 1, false),
                  "HISTORY 2026-12-05 04:12:07 (1/1)  paused");
    });
}

TEST(Timeline, FrameShowsTheLineAboveTheHeaderAndTheTimeKeysInHelp) {
    Snapshot s;
    s.interval_ns = 1'000'000'000;
    s.end_unix_ms = kBaseMs;
    TopUiState st;
    st.timeline = "REPLAY 2023-11-14 22:13:20 (1/3)  playing";
    TopFrame f = build_top_frame(&s, {}, st, 80, 24);
    ASSERT_FALSE(f.header.empty());
    EXPECT_EQ(f.header[0].text, st.timeline);
    EXPECT_EQ(f.header[1].text.rfind("perfbpf top", 0), 0u);
    EXPECT_TRUE(f.status.text.ends_with("q quit")) << f.status.text;

    st = handle_top_key(st, '?', f.key_context());
    f = build_top_frame(&s, {}, st, 80, 24);
    std::string help;
    for (const auto& l : f.help) help += l + "\n";
    EXPECT_NE(help.find("Left Right"), std::string::npos) << help;
    EXPECT_NE(help.find("PgUp PgDn      a minute back"), std::string::npos) << help;
    EXPECT_EQ(help.find("PgUp PgDn Home End   move the selection"), std::string::npos);
    EXPECT_LE(f.help.size() + 2, 24u);
    for (const auto& l : f.help) EXPECT_LE(l.size() + 4, 80u) << l;

    // Live: the same keys select rows; Left/Right do nothing and say nothing.
    std::string live;
    for (const auto& l : top_help_lines()) live += l + "\n";
    EXPECT_NE(live.find("PgUp PgDn Home End   move the selection"), std::string::npos);
    EXPECT_EQ(live.find("Left Right"), std::string::npos);
    TopUiState plain = handle_top_key(TopUiState{}, top_key::left, {});
    EXPECT_TRUE(plain.message.empty());
}

TEST(VerdictWindow, ByIndexMatchesTheLiveStream) {
    auto rec =
        read_recording(std::string(PERFBPF_FIXTURES_DIR) + "/recordings/cpu-contention.jsonl");
    ASSERT_TRUE(rec) << rec.error().message;
    // Seven snapshots: more than one window.
    std::vector<Snapshot> all = *rec;
    for (size_t i = 0; all.size() < 7; ++i) all.push_back((*rec)[i % rec->size()]);
    Thresholds t;
    VerdictWindow live(t);
    SeekableSource src = seekable_snapshots([&] { return all.size(); },
                                            [&](size_t i) { return all[i]; }, t, "REPLAY");
    EXPECT_EQ(src.size(), 7u);
    EXPECT_EQ(src.marker, "REPLAY");
    for (size_t i = 0; i < all.size(); ++i) {
        auto streamed = live.push(all[i]);
        TopUpdate u = src.at(i);
        EXPECT_EQ(u.snapshot.end_unix_ms, all[i].end_unix_ms);
        EXPECT_EQ(src.time_ms(i), all[i].end_unix_ms);
        ASSERT_EQ(u.verdicts.size(), streamed.size());
        for (size_t v = 0; v < streamed.size(); ++v) {
            EXPECT_EQ(u.verdicts[v].severity, streamed[v].severity) << i;
            EXPECT_EQ(u.verdicts[v].evidence, streamed[v].evidence) << i;
        }
    }
    EXPECT_EQ(src.at(0).verdicts.front().severity, Severity::critical);  // cpu contention
    // The window ending at 6 is 2..6, and reads nothing else.
    std::vector<size_t> read;
    assess_at(
        6,
        [&](size_t i) {
            read.push_back(i);
            return all[i];
        },
        t);
    EXPECT_EQ(read, (std::vector<size_t>{2, 3, 4, 5, 6}));
    EXPECT_EQ(verdict_window_first(0), 0u);
    EXPECT_EQ(verdict_window_first(4), 0u);
    EXPECT_EQ(verdict_window_first(5), 1u);
}

}  // namespace
}  // namespace perfbpf
