// `perfbpf report` end to end on a week of history written through the store API (minute
// intervals, a daily cycle): the JSON has every section, the HTML renders in headless
// chromium with every chart drawn (the screenshot is decoded and each chart's plot area
// checked for its line), and the 7-day report's time is printed against its 5 s target.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "detect/report.h"
#include "png_image.h"
#include "store/history.h"
#include "support.h"

namespace perfbpf {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kWeek = 7 * 86'400'000LL;

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A daily cycle between lo and hi, at its peak at noon.
double daily(int64_t ts, double lo, double hi) {
    const double phase = static_cast<double>(ts % 86'400'000) / 86'400'000.0;
    return lo + (hi - lo) * 0.5 * (1 - std::cos(2 * M_PI * phase));
}

// A week of minute intervals up to now: host, two devices, 30 processes and 5 cgroups, a
// new process every hour, an alert episode and a verdict episode. Returns the number of intervals
// written.
int64_t fill_week(const std::string& dir) {
    auto h = History::open(dir);
    EXPECT_TRUE(h) << h.error().message;
    if (!h) return 0;
    using enum MetricKind;
    std::vector<std::pair<SeriesId, std::function<double(int64_t)>>> series;
    auto add = [&](std::string metric, Labels labels, MetricKind kind,
                   std::function<double(int64_t)> f) {
        series.emplace_back(h->intern({std::move(metric), std::move(labels)}, kind), std::move(f));
    };
    add("cpu_busy_pct", {}, gauge, [](int64_t t) { return daily(t, 10, 80); });
    add("mem_total_bytes", {}, level, [](int64_t) { return 8e9; });
    add("mem_available_bytes", {}, level, [](int64_t t) { return daily(t, 6e9, 2e9); });
    add("swap_total_bytes", {}, level, [](int64_t) { return 2e9; });
    add("swap_free_bytes", {}, level, [](int64_t t) { return daily(t, 1.9e9, 1.5e9); });
    add("psi_cpu_some_interval_pct", {}, gauge, [](int64_t t) { return daily(t, 1, 30); });
    add("psi_memory_some_interval_pct", {}, gauge, [](int64_t t) { return daily(t, 0.5, 5); });
    add("psi_io_some_interval_pct", {}, gauge, [](int64_t t) { return daily(t, 1, 12); });
    add("tcp_tx_bytes", {}, counter, [](int64_t t) { return daily(t, 1e6, 6e7); });
    add("tcp_rx_bytes", {}, counter, [](int64_t t) { return daily(t, 2e6, 9e7); });
    add("tcp_retransmits", {}, counter, [](int64_t t) { return daily(t, 1, 60); });
    for (std::string dev : {"sda", "nvme0n1"}) {
        add("lat_p99_us", {{"device", dev}}, gauge, [](int64_t t) { return daily(t, 300, 9000); });
        add("util_pct", {{"device", dev}}, gauge, [](int64_t t) { return daily(t, 2, 70); });
    }
    for (int i = 0; i < 5; ++i) {
        const Labels cg = {{"cgroup", "/system.slice/svc" + std::to_string(i) + ".service"}};
        add("oncpu_ns", cg, counter, [i](int64_t t) { return daily(t, 1e9, 3e10) / (i + 1); });
        add("memory_current_bytes", cg, level, [i](int64_t) { return 1e8 * (i + 1); });
        add("read_bytes", cg, counter, [i](int64_t) { return 1e5 * (5 - i); });
        add("write_bytes", cg, counter, [i](int64_t) { return 2e5 * (5 - i); });
    }
    for (int i = 0; i < 30; ++i) {
        const Labels p = {{"cgroup", "/system.slice/svc" + std::to_string(i % 5) + ".service"},
                          {"comm", "worker" + std::to_string(i)},
                          {"pid", std::to_string(1000 + i)},
                          {"start", "42"}};
        add("oncpu_ns", p, counter, [i](int64_t t) { return daily(t, 1e8, 2e9) / (i + 1); });
        add("rss_bytes", p, level, [i](int64_t) { return 1e7 * (i + 1); });
        add("read_bytes", p, counter, [i](int64_t) { return 1e4 * (i % 7); });
        add("write_bytes", p, counter, [i](int64_t) { return 1e4 * (i % 3); });
    }
    const auto now = now_ms();
    // Minute-aligned and two minutes into the week: a rolled-up minute is stamped with its
    // start and a query from mid-minute leaves it out, so the first interval must be in a
    // minute that starts after the report's --since 7d (taken seconds later).
    const int64_t first = now / kMinute * kMinute - kWeek + 2 * kMinute;
    // Firing for an hour two days ago (1 while firing, 0 the interval it resolves).
    auto episode = [first](int64_t t, int64_t day) {
        const int64_t at = first + day * 86'400'000;
        return t >= at && t < at + 3'600'000 ? 1.0 : 0.0;
    };
    add("alert_state", {{"alert", "cpu_busy"}, {"severity", "warning"}}, level,
        [&](int64_t t) { return episode(t, 5); });
    add("alert_state", {{"alert", "verdict"}, {"resource", "cpu"}, {"severity", "critical"}}, level,
        [&](int64_t t) { return episode(t, 3); });

    int64_t n = 0;
    std::vector<std::pair<SeriesId, double>> values;
    for (int64_t t = first; t <= now; t += kMinute, ++n) {
        values.clear();
        for (auto& [id, f] : series) values.emplace_back(id, f(t));
        // A batch job an hour, each a process of its own: series that come and go, as the
        // daemon's history has them.
        const int64_t job = (t - first) / 3'600'000;
        const Labels jp = {{"cgroup", "/batch.slice"},
                           {"comm", "job"},
                           {"pid", std::to_string(20'000 + job)},
                           {"start", std::to_string(job)}};
        values.emplace_back(h->intern({"oncpu_ns", jp}, counter), 5e8);
        values.emplace_back(h->intern({"rss_bytes", jp}, level), 5e7);
        values.emplace_back(h->intern({"read_bytes", jp}, counter), 1e6);
        values.emplace_back(h->intern({"write_bytes", jp}, counter), 1e6);
        auto r = h->append(t, values, {});
        EXPECT_TRUE(r) << r.error().message;
        if (!r) return n;
    }
    auto f = h->flush();
    EXPECT_TRUE(f) << f.error().message;
    std::printf(
        "a week of minute intervals: %lld intervals of %zu series, and 4 series of"
        " a new process every hour\n",
        static_cast<long long>(n), series.size());
    return n;
}

struct Box {
    uint32_t x0, y0, x1, y1;
};

// The plot frames of the report's charts: 4-connected regions of the frame's own colour
// (sinks/report_html.cpp) large enough to be a plot.
std::vector<Box> chart_frames(const test::RgbImage& img) {
    auto is_frame = [&](uint32_t x, uint32_t y) {
        const uint8_t* p = img.at(x, y);
        return p[0] == 0x7b && p[1] == 0x2d && p[2] == 0xd2;
    };
    std::vector<uint8_t> seen(size_t{img.width} * img.height, 0);
    std::vector<Box> out;
    for (uint32_t y = 0; y < img.height; ++y)
        for (uint32_t x = 0; x < img.width; ++x) {
            if (seen[size_t{y} * img.width + x] || !is_frame(x, y)) continue;
            Box b{x, y, x, y};
            std::deque<std::pair<uint32_t, uint32_t>> todo{{x, y}};
            seen[size_t{y} * img.width + x] = 1;
            while (!todo.empty()) {
                auto [cx, cy] = todo.front();
                todo.pop_front();
                b = {std::min(b.x0, cx), std::min(b.y0, cy), std::max(b.x1, cx),
                     std::max(b.y1, cy)};
                const std::pair<int, int> steps[] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
                for (auto [dx, dy] : steps) {
                    const int64_t nx = int64_t{cx} + dx, ny = int64_t{cy} + dy;
                    if (nx < 0 || ny < 0 || nx >= img.width || ny >= img.height) continue;
                    const size_t i = static_cast<size_t>(ny) * img.width + static_cast<size_t>(nx);
                    if (seen[i] || !is_frame(static_cast<uint32_t>(nx), static_cast<uint32_t>(ny)))
                        continue;
                    seen[i] = 1;
                    todo.emplace_back(static_cast<uint32_t>(nx), static_cast<uint32_t>(ny));
                }
            }
            if (b.x1 - b.x0 >= 300 && b.y1 - b.y0 >= 60) out.push_back(b);
        }
    return out;
}

// Pixels of the average's line (blue, #2166ac, or blended into the plot's background)
// inside a frame.
size_t line_pixels(const test::RgbImage& img, const Box& b) {
    size_t n = 0;
    for (uint32_t y = b.y0 + 2; y + 2 <= b.y1; ++y)
        for (uint32_t x = b.x0 + 2; x + 2 <= b.x1; ++x) {
            const uint8_t* p = img.at(x, y);
            if (p[2] > p[0] + 40) ++n;
        }
    return n;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Report, SevenDaysAsJsonAndAsHtmlRenderedByChromium) {
    test::TempDir dir;
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t intervals = fill_week(dir.path());
    ASSERT_GE(intervals, 10'078);
    std::printf("written in %.1f s\n", seconds_since(t0));

    int status = -1;
    const std::string state = " --state-dir " + dir.path();
    const std::string out = test::run_perfbpf("report --since 7d --format json" + state, &status);
    ASSERT_EQ(status, 0) << out;
    const auto j = nlohmann::json::parse(out);
    for (ReportSection s : kReportSections)
        EXPECT_TRUE(j.contains(std::string(section_key(s)))) << section_key(s);
    EXPECT_EQ(j["range"]["intervals"], intervals);
    // Host: CPU, memory, swap, 3 x PSI, TCP sent, received, retransmits; 2 devices x 2.
    const size_t charts = j["resources"].size();
    EXPECT_EQ(charts, 13u);
    EXPECT_EQ(j["top_consumers"][0]["top"][0]["name"], "worker0 (1000)");
    EXPECT_EQ(j["alerts"].size(), 1u);
    EXPECT_EQ(j["verdicts"].size(), 1u);

    const std::string html = dir.path() + "/week.html";
    const auto t1 = std::chrono::steady_clock::now();
    const std::string wrote = test::run_perfbpf("report --since 7d -o " + html + state, &status);
    const double took = seconds_since(t1);
    ASSERT_EQ(status, 0) << wrote;
    std::printf("7-day report (HTML, %zu charts at hour steps): %.2f s (target <= 5 s)\n", charts,
                took);
    EXPECT_LE(took, 5.0);

    const std::string chromium =
        test::run_command("command -v chromium || command -v chromium-browser");
    if (chromium.empty())
        PERFBPF_SKIP_OR_FAIL("chromium is not installed (scripts/install-deps.sh)");
    const std::string png = dir.path() + "/week.png";
    const std::string cmd = "timeout 120 " + chromium.substr(0, chromium.find('\n')) +
                            " --headless --no-sandbox --disable-gpu --hide-scrollbars"
                            " --user-data-dir=" +
                            dir.path() + "/chromium --screenshot=" + png +
                            " --window-size=1200,2400 file://" + html + " 2>&1";
    std::string log = test::run_command(cmd, &status);
    ASSERT_EQ(status, 0) << log;
    auto img = test::read_png(png);
    ASSERT_TRUE(img) << img.error().message;
    const auto frames = chart_frames(*img);
    EXPECT_EQ(frames.size(), charts) << "chart frames found in " << png;
    for (const auto& b : frames) {
        // A line across the plot is at least as many pixels as the plot is wide.
        EXPECT_GE(line_pixels(*img, b), size_t{b.x1 - b.x0 - 8})
            << "chart at " << b.x0 << "," << b.y0 << " is blank";
    }
}

TEST(Report, BadSinceAndEmptyHistory) {
    test::TempDir dir;
    {
        auto h = History::open(dir.path());
        ASSERT_TRUE(h) << h.error().message;
        auto id = h->intern({"cpu_busy_pct", {}}, MetricKind::gauge);
        std::vector<std::pair<SeriesId, double>> v = {{id, 5}};
        ASSERT_TRUE(h->append(now_ms() - 3 * 86'400'000LL, v, {}));
    }
    int status = -1;
    const std::string state = " --state-dir " + dir.path();
    std::string out = test::run_perfbpf("report --since yesterday" + state + " 2>&1", &status);
    EXPECT_EQ(status, 2);
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    out = test::run_perfbpf("report --since 24h" + state + " 2>&1", &status);
    EXPECT_EQ(status, 1);
    EXPECT_NE(out.find("has no intervals"), std::string::npos) << out;
    out = test::run_perfbpf("report --since 7d" + state, &status);
    EXPECT_EQ(status, 0);
    EXPECT_NE(out.find("| CPU busy | host | 5.00 % |"), std::string::npos) << out;
}

}  // namespace
}  // namespace perfbpf
