#include "sinks/timeline.h"

#include <algorithm>
#include <ctime>

#include "sinks/top_view.h"

namespace perfbpf {

namespace {

// The first index in [lo, hi) for which `pred` is false, `pred` holding on a prefix.
size_t partition_point(size_t lo, size_t hi, const std::function<bool(size_t)>& pred) {
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pred(mid))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

}  // namespace

bool is_time_key(int key) {
    switch (key) {
        case top_key::left:
        case top_key::right:
        case top_key::page_up:
        case top_key::page_down:
        case top_key::home:
        case top_key::end:
        case ' ':
        case 'p':
            return true;
        default:
            return false;
    }
}

size_t seek(size_t count, const std::function<int64_t(size_t)>& time_ms, size_t from, int key) {
    if (count == 0) return 0;
    const size_t last = count - 1;
    from = std::min(from, last);
    switch (key) {
        case top_key::left:
            return from == 0 ? 0 : from - 1;
        case top_key::right:
            return std::min(from + 1, last);
        case top_key::home:
            return 0;
        case top_key::end:
            return last;
        case top_key::page_up: {
            if (from == 0) return 0;
            const int64_t target = time_ms(from) - kSeekPageMs;
            size_t after = partition_point(0, from, [&](size_t i) { return time_ms(i) <= target; });
            return after == 0 ? 0 : after - 1;
        }
        case top_key::page_down: {
            if (from == last) return last;
            const int64_t target = time_ms(from) + kSeekPageMs;
            size_t at =
                partition_point(from + 1, count, [&](size_t i) { return time_ms(i) < target; });
            return std::min(at, last);
        }
        default:
            return from;
    }
}

size_t seek(const std::vector<int64_t>& times_ms, size_t from, int key) {
    return seek(
        times_ms.size(), [&](size_t i) { return times_ms[i]; }, from, key);
}

Playback press_time_key(Playback p, size_t count, const std::function<int64_t(size_t)>& time_ms,
                        int key) {
    if (key == ' ' || key == 'p') {
        p.playing = !p.playing;
        if (p.playing && count > 0 && p.index + 1 >= count) p.index = 0;
        return p;
    }
    if (!is_time_key(key)) return p;
    p.index = seek(count, time_ms, p.index, key);
    p.playing = false;
    return p;
}

std::string timeline_line(const std::string& marker, int64_t end_unix_ms, size_t index,
                          size_t count, bool playing) {
    std::time_t t = static_cast<std::time_t>(end_unix_ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    return marker + " " + when + " (" + std::to_string(count == 0 ? 0 : index + 1) + "/" +
           std::to_string(count) + ")  " + (playing ? "playing" : "paused");
}

}  // namespace perfbpf
