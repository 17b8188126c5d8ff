// The report's writers on a Report made by hand: JSON with every section (empty ones
// too), Markdown tables, a self-contained printable HTML page with a chart per resource.
#include <gtest/gtest.h>

#include "sinks/report.h"

namespace perfbpf {
namespace {

constexpr int64_t kFrom = 1'796'428'800'000;  // 2026-12-05T00:00:00Z

Report sample_report() {
    Report r;
    r.from_ms = kFrom;
    r.to_ms = kFrom + 86'400'000;
    r.generated_ms = r.to_ms;
    r.step_ms = r.chart_step_ms = 60'000;
    r.intervals = 8640;
    ResourceStats cpu;
    cpu.resource = "cpu_busy";
    cpu.title = "CPU busy";
    cpu.unit = "pct";
    cpu.avg = 12.5;
    cpu.p95 = 40;
    cpu.max = 97.25;
    for (int m = 0; m < 1440; m += 10)
        cpu.chart.push_back({kFrom + m * 60'000LL, double(m % 100), double(m % 100) + 5, 6});
    r.resources.push_back(cpu);
    ResourceStats lat = cpu;
    lat.resource = "disk_latency_p99";
    lat.title = "Disk latency p99";
    lat.object = "sda";
    lat.unit = "us";
    lat.max = 12'000;
    r.resources.push_back(lat);
    r.top.push_back({"process", "cpu", "s", {{"db (10)", {{"pid", "10"}}, 360}}});
    r.top.push_back({"cgroup", "io", "bytes", {}});
    r.alerts.push_back({"cpu_busy", "warning", {}, kFrom + 3'600'000, kFrom + 7'200'000, false});
    r.tune_changes.push_back(
        {kFrom + 60'000, "block-io", "sda read_ahead_kb", "128", "512", "a|b", "kept", "", ""});
    r.notes.push_back("tune journal unreadable: <test>");
    return r;
}

TEST(ReportWriters, JsonHasEverySection) {
    const auto j = report_json(sample_report());
    for (ReportSection s : kReportSections) {
        ASSERT_TRUE(j.contains(std::string(section_key(s)))) << section_key(s);
        EXPECT_TRUE(j[std::string(section_key(s))].is_array()) << section_key(s);
    }
    EXPECT_TRUE(j["verdicts"].empty());
    EXPECT_EQ(j["resources"][0]["p95"], 40);
    EXPECT_EQ(j["resources"][1]["object"], "sda");
    EXPECT_EQ(j["resources"][0]["chart"].size(), 144u);
    EXPECT_EQ(j["top_consumers"][0]["top"][0]["value"], 360);
    EXPECT_EQ(j["alerts"][0]["end"], "2026-12-05T02:00:00.000Z");
    EXPECT_EQ(j["tune_changes"][0]["outcome"], "kept");
    EXPECT_EQ(j["range"]["intervals"], 8640);
}

TEST(ReportWriters, MarkdownTables) {
    const std::string md = report_markdown(sample_report());
    EXPECT_NE(md.find("# perfbpf report 2026-12-05 00:00 UTC - 2026-12-06 00:00 UTC"),
              std::string::npos);
    EXPECT_NE(md.find("| CPU busy | host | 12.5 % | 40.0 % | 97.2 % |"), std::string::npos) << md;
    EXPECT_NE(md.find("| Disk latency p99 | sda |"), std::string::npos);
    EXPECT_NE(md.find("### Processes by CPU"), std::string::npos);
    EXPECT_NE(md.find("| 1 | db (10) | 360 s |"), std::string::npos) << md;
    EXPECT_NE(md.find("a\\|b"), std::string::npos);  // a pipe in a cell is escaped
    EXPECT_NE(md.find(empty_section_text(ReportSection::verdicts)), std::string::npos);
    for (ReportSection s : kReportSections)
        EXPECT_NE(md.find("## " + std::string(section_title(s))), std::string::npos);
}

TEST(ReportWriters, HtmlIsSelfContainedWithAChartPerResource) {
    const std::string html = report_html(sample_report());
    size_t svgs = 0;
    for (size_t p = 0; (p = html.find("<svg", p)) != std::string::npos; ++p) ++svgs;
    EXPECT_EQ(svgs, 2u);
    EXPECT_NE(html.find("<polyline class=\"mean\""), std::string::npos);
    EXPECT_NE(html.find("@media print"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("src="), std::string::npos);  // nothing loaded from elsewhere
    EXPECT_EQ(html.find("href="), std::string::npos);
    EXPECT_NE(html.find("&lt;test&gt;"), std::string::npos);  // text is escaped
    for (ReportSection s : kReportSections)
        EXPECT_NE(html.find("id=\"" + std::string(section_key(s)) + "\""), std::string::npos);
}

TEST(ReportWriters, ChartLineBreaksAtGaps) {
    Report r = sample_report();
    r.resources.resize(1);
    auto& c = r.resources[0].chart;
    c = {{kFrom, 1, 1, 6}, {kFrom + 60'000, 2, 2, 6}, {kFrom + 3'600'000, 3, 3, 6}};
    const std::string html = report_html(r);
    size_t means = 0;
    for (size_t p = 0; (p = html.find("class=\"mean\"", p)) != std::string::npos; ++p) ++means;
    EXPECT_EQ(means, 2u);  // an hour without data is not drawn as a line across it
}

}  // namespace
}  // namespace perfbpf
