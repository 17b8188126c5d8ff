// `perfbpf report`: a report of a time range of the daemon's history (wiring only: the
// numbers are built in sinks/history_report.cpp, laid out in sinks/report_*.cpp).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/history_cli.h"
#include "model/selector.h"
#include "sinks/history_report.h"
#include "sinks/incident_log.h"
#include "sinks/report.h"
#include "tune/journal.h"
#include "util/fd.h"
#include "util/files.h"

namespace perfbpf::cli {
namespace {

struct Options {
    std::string since;
    std::string until = "now";
    std::string period;
    std::string format;
    std::string output;
    std::string state_dir;
    std::string config_path;
    size_t top = 10;
};

enum class Format { html, md, json };

std::optional<Format> format_named(const std::string& name) {
    if (name == "html") return Format::html;
    if (name == "md") return Format::md;
    if (name == "json") return Format::json;
    return std::nullopt;
}

// --format, else -o's extension, else Markdown.
Result<Format> choose_format(const Options& o) {
    if (!o.format.empty()) {
        if (auto f = format_named(o.format)) return *f;
        return fail("--format: '" + o.format + "' is not html, md or json");
    }
    if (o.output.empty()) return Format::md;
    const std::string ext = std::filesystem::path(o.output).extension().string();
    if (ext == ".html" || ext == ".htm") return Format::html;
    if (ext == ".md" || ext == ".markdown") return Format::md;
    if (ext == ".json") return Format::json;
    return fail("-o " + o.output + ": cannot tell the format from '" + ext +
                "' (.html, .md, .json); give --format");
}

Result<int64_t> since_of(const Options& o, int64_t now) {
    if (!o.period.empty() && !o.since.empty()) return fail("give --since or --period, not both");
    std::string since = o.since.empty() ? "24h" : o.since;
    if (o.period == "daily")
        since = "24h";
    else if (o.period == "weekly")
        since = "7d";
    else if (!o.period.empty())
        return fail("--period: '" + o.period + "' is not daily or weekly");
    auto from = since_ms(since, now);
    if (!from) return fail("--since: " + from.error().message);
    return *from;
}

// {date} in -o: the UTC date the report ends (timers name their files by it).
std::string output_path(const std::string& pattern, int64_t to_ms) {
    const size_t at = pattern.find("{date}");
    if (at == std::string::npos) return pattern;
    const std::time_t secs = static_cast<std::time_t>(to_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char date[16];
    std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
    return pattern.substr(0, at) + date + pattern.substr(at + 6);
}

// Written beside and renamed into place: a reader (a web server over the reports dir)
// never sees half a report.
Result<void> write_report(const std::string& path, const std::string& text) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return fail("cannot create " + parent.string() + ": " + ec.message());
    const std::string tmp = path + ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) return fail_errno("create " + tmp, errno);
    if (auto w = write_all(fd.get(), tmp, text); !w) {
        ::unlink(tmp.c_str());
        return w;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return fail_errno("rename " + tmp + " to " + path, err);
    }
    return {};
}

int run_report(const Options& o) {
    const int64_t now = now_unix_ms();
    auto from = since_of(o, now);
    if (!from) return usage_error(from.error().message);
    auto to = since_ms(o.until, now);
    if (!to) return usage_error("--until: " + to.error().message);
    if (*from >= *to) return usage_error("--since is not before --until");
    auto format = choose_format(o);
    if (!format) return usage_error(format.error().message);

    int status = 0;
    auto dir = reading_state_dir(o.state_dir, o.config_path, status);
    if (!dir) return status;
    auto history = open_history_for_reading(*dir, "", status);
    if (!history) return status;
    // The tuner's journal is part of the report, not a condition for it.
    auto journal = tune::Journal::load(*dir);
    // So are the daemon's incidents.
    auto incidents = read_incident_log(*dir);
    ReportOptions ro{*from, *to, now, o.top, incidents ? &*incidents : nullptr};
    auto report = build_report(*history, ro, journal ? &*journal : nullptr);
    if (!report) {
        std::fprintf(stderr, "perfbpf: %s\n", report.error().message.c_str());
        return 1;
    }
    if (report->intervals == 0) {
        std::fprintf(stderr, "perfbpf: the history in %s has no intervals from %s to %s\n",
                     dir->c_str(), report_time(*from).c_str(), report_time(*to).c_str());
        return 1;
    }
    if (!journal) report->notes.push_back("tune changes left out: " + journal.error().message);
    if (!incidents) report->notes.push_back("incidents left out: " + incidents.error().message);

    std::string text;
    switch (*format) {
        case Format::html:
            text = report_html(*report);
            break;
        case Format::md:
            text = report_markdown(*report);
            break;
        case Format::json:
            text = report_json(*report).dump(2) + "\n";
            break;
    }
    if (o.output.empty() || o.output == "-") {
        std::cout << text;
        return 0;
    }
    const std::string path = output_path(o.output, *to);
    if (auto w = write_report(path, text); !w) {
        std::fprintf(stderr, "perfbpf: %s\n", w.error().message.c_str());
        return 1;
    }
    std::cout << "report of " << report->intervals << " intervals written to " << path << "\n";
    return 0;
}

}  // namespace

void add_report(CLI::App& app) {
    auto o = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand("report", "Write a report of a time range of the history");
    cmd->footer(
        "Per resource (CPU, memory, swap, pressure, disk latency and utilisation per\n"
        "device, TCP throughput and retransmits) the average, p95 and maximum; the top\n"
        "processes and cgroups by CPU, memory and I/O; when verdicts held and alerts fired;\n"
        "what the tuner changed and what became of it. HTML is one self-contained page\n"
        "with a chart per resource (no scripts; prints as it reads).\n\n"
        "Examples:\n"
        "  perfbpf report                         the last 24 hours as Markdown\n"
        "  perfbpf report --since 7d -o week.html\n"
        "  perfbpf report --period daily -o /var/lib/perfbpf/reports/{date}-daily.html\n\n"
        "Exit status: 0 written, 1 no history, no intervals in the range or a write failed,\n"
        "2 bad option.");
    cmd->add_option("--since", o->since,
                    "Start: a duration back from now (24h, 7d) or a time (default 24h)")
        ->type_name("WHEN");
    cmd->add_option("--until", o->until, "End: a time or a duration back from now (default now)")
        ->type_name("WHEN");
    cmd->add_option("--period", o->period, "daily (--since 24h) or weekly (--since 7d)")
        ->type_name("NAME");
    cmd->add_option("--format", o->format, "html, md or json (default: -o's extension, else md)")
        ->type_name("FORMAT");
    cmd->add_option("-o,--output", o->output,
                    "Write to FILE ({date}: the UTC date the report ends); default stdout")
        ->type_name("FILE");
    cmd->add_option("--top", o->top, "Top consumers per list (default 10)")
        ->type_name("N")
        ->check(CLI::Range(1, 1000));
    cmd->add_option("--state-dir", o->state_dir,
                    "The daemon's state dir (default from the config, /var/lib/perfbpf)")
        ->type_name("DIR");
    cmd->add_option("--config", o->config_path, "TOML config naming the state dir")
        ->type_name("FILE");
    cmd->callback([o] { exit_status() = run_report(*o); });
}

}  // namespace perfbpf::cli
