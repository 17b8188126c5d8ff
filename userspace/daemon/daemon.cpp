#include "daemon/daemon.h"

#include <fcntl.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <mutex>

#include "collect/collector.h"
#include "config/config.h"
#include "daemon/daemon_alerts.h"
#include "daemon/daemon_incidents.h"
#include "daemon/daemon_tune.h"
#include "daemon/notify.h"
#include "daemon/self_cost.h"
#include "detect/governor.h"
#include "model/daemon_status.h"
#include "model/series_extract.h"
#include "model/series_span.h"
#include "serve/dashboard.h"
#include "serve/http_server.h"
#include "sinks/daemon_status.h"
#include "sinks/dashboard_json.h"
#include "sinks/incident_json.h"
#include "sinks/prometheus.h"
#include "sinks/remote_write.h"
#include "store/history.h"
#include "util/files.h"
#include "util/host_name.h"
#include "util/safe_open.h"

namespace perfbpf {
namespace {

int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

uint64_t seconds_ns(double s) {
    return static_cast<uint64_t>(std::llround(s * 1e9));
}

HistoryOptions history_options(const HistoryConfig& h) {
    HistoryOptions o;
    constexpr double kDayMs = 86'400'000.0;
    o.retention_ms[0] = static_cast<int64_t>(h.raw_days * kDayMs);
    o.retention_ms[1] = static_cast<int64_t>(h.minute_days * kDayMs);
    o.retention_ms[2] = static_cast<int64_t>(h.hour_days * kDayMs);
    o.budget_bytes = static_cast<uint64_t>(h.max_disk_mib * 1024 * 1024);
    return o;
}

// Writes the status file atomically (a reader never sees half of it), inside the state dir
// by its fd: nothing planted there is followed. On a full disk the new file cannot be
// made; the old one is then rewritten in place (its blocks are already there), so the
// status keeps saying what the daemon is doing while history writes are paused.
void write_status(int dirfd, const std::string& dir, const DaemonStatus& s) {
    const std::string name = kDaemonStatusFile;
    const std::string text = daemon_status_json(s).dump(2) + "\n";
    if (replace_in_dir(dirfd, dir, name, text)) return;
    auto in_place = open_in_dir(dirfd, dir, name, O_WRONLY, 0644);
    if (!in_place) return;
    if (!write_all(in_place->get(), name, text) ||
        ::ftruncate(in_place->get(), static_cast<off_t>(text.size())) != 0)
        spdlog::debug("status file: {}", errno_text(errno));
}

// The token of [daemon] bearer_token_file: the file's text without surrounding whitespace.
Result<std::string> bearer_token(const std::string& path) {
    auto text = read_regular_file(path, 4096);
    if (!text) return fail("bearer_token_file: " + text.error().message);
    const auto first = text->find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return fail("bearer_token_file: " + path + " is empty");
    const auto last = text->find_last_not_of(" \t\r\n");
    return text->substr(first, last - first + 1);
}

class Daemon {
  public:
    Daemon(const DaemonOptions& opts, Config config, std::string config_path)
        : opts_(opts),
          config_(std::move(config)),
          config_path_(std::move(config_path)),
          governor_(config_.daemon.cpu_budget_pct),
          alerts_(config_) {}

    int run();

  private:
    double base_interval_s() const { return opts_.interval_s.value_or(config_.daemon.interval_s); }
    void apply_interval();
    void reload();
    void write_history(const Snapshot& snap);
    void write_history(const Snapshot& snap, const std::vector<SeriesSample>& series);
    std::vector<SeriesSample> on_span(SpanSeries& span, int64_t now_ms);
    std::vector<TuneRequest> tune_requests() const;
    void record_tune(DaemonTune::Output out, std::vector<SeriesSample>* series);
    void measure_cost(uint64_t now_ns);
    void update_status(const Snapshot& snap, uint64_t now_ns);
    void write_status_file();
    void retry_probes(uint64_t now_ns);
    Result<void> start_http();
    Result<void> start_remote_write();

    const DaemonOptions& opts_;
    Config config_;
    std::string config_path_;
    std::string state_dir_;
    UniqueFd state_fd_;
    std::unique_ptr<Collector> collector_;
    std::optional<History> history_;
    Governor governor_;
    std::optional<SelfCost> cost_;
    DaemonStatus status_;
    uint64_t last_retention_ns_ = 0;
    uint64_t last_status_write_ns_ = 0;
    // The intervals since the consumers that run once a span last ran (on_span).
    SeriesSpan span_;
    size_t span_intervals_ = 1;
    // What /metrics renders from, on the server's thread: the totals updated once a span,
    // the self-metrics once an interval.
    std::mutex metrics_mu_;
    Exposition exposition_;
    DaemonStatus published_;
    // Before http_: the server's handlers use it until the server is gone.
    std::unique_ptr<Dashboard> dashboard_;
    std::unique_ptr<HttpServer> http_;
    std::unique_ptr<RemoteWriter> remote_;  // when [remote_write] url is set
    DaemonAlerts alerts_;
    std::optional<DaemonIncidents> incidents_;
    std::optional<DaemonTune> tune_;
};

Result<void> Daemon::start_http() {
    const std::string listen = opts_.listen.value_or(config_.daemon.listen);
    if (listen.empty()) return {};
    auto addr = parse_listen(listen);
    if (!addr) return std::unexpected(addr.error());
    HttpServerOptions o;
    o.listen = *addr;
    // A browser opens up to six connections for a page and keeps them alive: with two
    // threads its chart queries would wait on each other's idle connections.
    o.threads = 4;
    if (!config_.daemon.bearer_token_file.empty()) {
        auto token = bearer_token(config_.daemon.bearer_token_file);
        if (!token) return std::unexpected(token.error());
        o.bearer_token = std::move(*token);
    }
    if (!addr->loopback && o.bearer_token.empty())
        spdlog::warn(
            "serving /metrics and the dashboard on {} without a bearer token: anyone who can reach "
            "it "
            "sees process names and cgroups ([daemon] bearer_token_file)",
            listen);
    HttpRoutes routes;
    routes.get["/metrics"] = metrics_handler([this] {
        std::lock_guard lock(metrics_mu_);
        return exposition_.render(published_);
    });
    dashboard_ = std::make_unique<Dashboard>(state_dir_, unix_ms_now);
    dashboard_->add_routes(routes);
    auto server = HttpServer::start(o, std::move(routes));
    if (!server) return std::unexpected(server.error());
    http_ = std::move(*server);
    spdlog::info("serving /metrics and the dashboard on {}:{}", addr->host, http_->port());
    return {};
}

Result<void> Daemon::start_remote_write() {
    const RemoteWriteConfig& c = config_.remote_write;
    if (c.url.empty()) return {};
    RemoteWriteOptions o;
    o.url = c.url;
    o.batch_samples = static_cast<size_t>(c.batch_samples);
    o.queue_samples = static_cast<size_t>(c.queue_samples);
    o.timeout_s = c.timeout_s;
    o.external_labels = {{"instance", host_name()}, {"job", "perfbpf"}};
    if (!c.bearer_token_file.empty()) {
        auto token = bearer_token(c.bearer_token_file);
        if (!token) return fail("remote_write." + token.error().message);
        o.bearer_token = std::move(*token);
    }
    remote_ = std::make_unique<RemoteWriter>(std::move(o));
    spdlog::info("remote write to {}", c.url);
    return {};
}

void Daemon::apply_interval() {
    const double s = base_interval_s() * governor_.shed().interval_factor;
    collector_->set_interval(seconds_ns(s));
    collector_->keep_one_in(governor_.shed().sample_one_in);
    status_.interval_s = s;
    span_intervals_ = intervals_per_span(s);
}

void Daemon::reload() {
    notify_reloading();
    auto fresh = load_config(config_path_);
    if (!fresh) {
        spdlog::error("reload: {}; keeping the running configuration", fresh.error().message);
    } else {
        const bool remote_changed = fresh->remote_write != config_.remote_write;
        config_ = std::move(*fresh);
        if (remote_changed) {
            remote_.reset();
            status_.remote_write = {};
            if (config_.remote_write.url.empty()) spdlog::info("remote write off");
            if (auto r = start_remote_write(); !r)
                spdlog::error("reload: {}; remote write is off", r.error().message);
        }
        governor_.set_budget(config_.daemon.cpu_budget_pct);
        status_.budget_pct = config_.daemon.cpu_budget_pct;
        if (history_) history_->set_options(history_options(config_.history));
        apply_interval();
        alerts_.reconfigure(config_);
        incidents_->reconfigure(config_);
        tune_->reconfigure(config_);
        spdlog::info("reloaded {}", config_path_.empty() ? "defaults" : config_path_);
    }
    notify_ready();
}

void Daemon::write_history(const Snapshot& snap) {
    SeriesPolicy policy;
    policy.top_processes = static_cast<size_t>(
        std::ceil(config_.daemon.top_processes * governor_.shed().process_series_factor));
    policy.watch = config_.daemon.watch;
    policy.min_age_s = config_.daemon.min_process_age_s;
    std::vector<SeriesSample> series = snapshot_series(snap, policy);
    span_.add(series);
    alerts_.observe(snap);
    if (span_.intervals() >= span_intervals_) {
        SpanSeries span = span_.take();
        std::ranges::move(on_span(span, snap.end_unix_ms), std::back_inserter(series));
    }
    incidents_->observe(snap);
    record_tune(tune_->on_interval(snap, tune_requests()), &series);
    if (dashboard_)
        dashboard_->publish(dashboard_now_json(snap, alerts_.verdicts(), alerts_.firing()).dump(),
                            static_cast<int64_t>(snap.interval_ns / 1'000'000));
    write_history(snap, series);
}

// What runs once a span (a second, or the interval when longer) rather than each interval,
// over what the span's intervals gave (model/series_span.h): alert rules, the exposition's
// running totals (and remote write), anomaly scoring. At 0.1 s they were 35 % of the
// daemon's CPU, redone ten times a second for rules that hold for minutes, baselines that
// learn over minutes and scrapes every 15 s; the /metrics page itself is built when scraped.
// Returns the alert_state and incident_open series to write with the span's last interval.
std::vector<SeriesSample> Daemon::on_span(SpanSeries& span, int64_t now_ms) {
    std::vector<SeriesSample> out = alerts_.on_span(span);
    {
        std::lock_guard lock(metrics_mu_);
        exposition_.update(span.series, alerts_.derived_series());
        if (remote_) remote_->push(exposition_, published_, now_ms);
    }
    // Scored: the catalogue's series; the alerts' own are verdicts on them, not measures.
    span.counters_per_interval();
    std::ranges::move(incidents_->on_span(now_ms, span.series, alerts_.events()),
                      std::back_inserter(out));
    return out;
}

// Firing alerts whose rule names a tuner, and open incidents that name one, each for its
// object: what auto-tune may act on this interval.
std::vector<TuneRequest> Daemon::tune_requests() const {
    std::vector<TuneRequest> out;
    if (!tune_->enabled()) return out;
    for (const Alert& a : alerts_.firing())
        if (auto h = alert_tune_hint(a)) out.push_back({std::move(*h), {{"alert", alert_ref(a)}}});
    for (const auto& [id, h] : incidents_->tune_hints()) out.push_back({h, {{"incident", id}}});
    return out;
}

void Daemon::record_tune(DaemonTune::Output out, std::vector<SeriesSample>* series) {
    for (const auto& r : out.records) incidents_->record(r);
    if (series) std::ranges::move(out.series, std::back_inserter(*series));
}

void Daemon::write_history(const Snapshot& snap, const std::vector<SeriesSample>& series) {
    status_.series = series.size();
    auto r = history_->append(snap.end_unix_ms, series);
    if (!r) {
        if (!status_.history_paused)
            spdlog::error(
                "history writes paused: {} (collection goes on; intervals not "
                "written are counted)",
                r.error().message);
        status_.history_paused = true;
        status_.history_error = r.error().message;
    } else {
        status_.history_samples += series.size();
    }
    if (r && status_.history_paused) {
        spdlog::warn("history writes resumed after {} intervals not written",
                     history_->dropped_intervals());
        status_.history_paused = false;
        status_.history_error.clear();
    }
    status_.history_dropped_intervals = history_->dropped_intervals();
}

void Daemon::measure_cost(uint64_t now_ns) {
    auto reading = cost_->tick(now_ns);
    if (!reading) return;
    // The hourly compaction and the series of processes that come and go leave freed
    // memory in malloc's arenas that glibc does not hand back by itself: the RSS rose in
    // steps (42 -> 50 MB at the first compaction on a busy host). Once a period, give it
    // back; it costs well under a millisecond.
    ::malloc_trim(0);
    status_.cost_own_cpu_pct = reading->own_cpu_pct;
    status_.cost_bpf_pct = reading->bpf_measured ? reading->bpf_pct : -1;
    auto step = governor_.observe(reading->total_pct());
    if (!step) return;
    spdlog::warn("governor: level {} -> {}: {}", step->from, step->to, step->reason);
    status_.governor_level = governor_.level();
    status_.governor_shed = governor_.shed().what;
    apply_interval();
}

void Daemon::retry_probes(uint64_t now_ns) {
    for (const auto& family : collector_->retry_unavailable(now_ns))
        spdlog::warn("probe family {} loaded on retry", family);
    status_.probe_retries.clear();
    for (const auto& [family, ns] : collector_->pending_retries(now_ns))
        status_.probe_retries[family] =
            "next try in " + std::to_string((ns + 999'999'999) / 1'000'000'000) + " s";
}

// The status file is for people and tests that poll it: written at most once a second
// whatever the interval (at 0.1 s, every interval it cost 3.5-4.8 % of the daemon's CPU: the
// JSON, a file created and renamed, and the RSS and database sizes read for it), and once
// more at exit. /metrics keeps the counters of every interval.
constexpr uint64_t kStatusWriteEveryNs = 1'000'000'000ULL;

void Daemon::update_status(const Snapshot& snap, uint64_t now_ns) {
    status_.updated_unix_ms = snap.end_unix_ms;
    ++status_.intervals;
    status_.probes = collector_->probe_status();
    for (const auto& [kind, n] : snap.drops.by_kind) status_.drops[kind] += n;
    alerts_.fill_status(status_);
    if (remote_) {
        auto rw = remote_->stats();
        if (!rw.last_error.empty() && rw.last_error != status_.remote_write.last_error)
            spdlog::warn("remote write: {}", rw.last_error);
        status_.remote_write = std::move(rw);
    }
    const bool write =
        last_status_write_ns_ == 0 || now_ns - last_status_write_ns_ >= kStatusWriteEveryNs;
    if (write) {
        status_.history_bytes = history_->bytes_on_disk();
        status_.own_rss_bytes = own_rss_bytes();
        last_status_write_ns_ = now_ns;
    }
    {
        std::lock_guard lock(metrics_mu_);
        published_ = status_;
    }
    if (write) write_status(state_fd_.get(), state_dir_, status_);
}

void Daemon::write_status_file() {
    status_.history_bytes = history_->bytes_on_disk();
    status_.own_rss_bytes = own_rss_bytes();
    write_status(state_fd_.get(), state_dir_, status_);
    remove_replaced_copy(state_fd_.get(), kDaemonStatusFile);
}

int Daemon::run() {
    state_dir_ = opts_.state_dir.value_or(config_.state_dir);
    auto dir = open_state_dir(state_dir_, true);
    if (!dir) {
        spdlog::error("{}", dir.error().message);
        return 1;
    }
    state_fd_ = std::move(*dir);
    auto history = History::open(state_dir_, history_options(config_.history));
    if (!history) {
        spdlog::error("history: {}", history.error().message);
        return 1;
    }
    history_ = std::move(*history);
    for (const auto& note : history_->notes()) spdlog::warn("history: {}", note);
    const double span_s =
        static_cast<double>(intervals_per_span(base_interval_s())) * base_interval_s();
    incidents_.emplace(config_, state_fd_.get(), state_dir_, std::llround(span_s * 1000),
                       unix_ms_now());
    incidents_->seed(*history_, unix_ms_now());
    tune_.emplace(config_, state_dir_);

    CollectorOptions co;
    co.interval_ns = seconds_ns(base_interval_s());
    co.probes.sample_hz = config_.sample_hz;
    co.command = "daemon";
    // SIGTERM has 2 s to end the daemon (the flush included); nobody watches it quit.
    co.stop_poll_ns = 500'000'000;
    auto collector = Collector::create(co);
    if (!collector) {
        spdlog::error("{}", collector.error().message);
        return 1;
    }
    collector_ = std::move(*collector);
    for (const auto& s : collector_->probe_status())
        if (!s.attached && !s.skipped)
            spdlog::warn("{} {} unavailable: {}", s.family, s.probe, s.reason);

    status_.pid = static_cast<int>(::getpid());
    status_.started_unix_ms = unix_ms_now();
    status_.state_dir = state_dir_;
    status_.config_path = config_path_;
    status_.budget_pct = config_.daemon.cpu_budget_pct;
    apply_interval();
    if (auto r = start_http(); !r) {
        spdlog::error("{}", r.error().message);
        return 1;
    }
    if (auto r = start_remote_write(); !r) {
        spdlog::error("{}", r.error().message);
        return 1;
    }
    cost_.emplace(seconds_ns(config_.daemon.governor_period_s),
                  [this] { return collector_->bpf_run_time_ns(); });
    notify_ready();
    spdlog::info("collecting every {} s into {}", status_.interval_s, state_dir_);

    for (uint64_t n = 0; opts_.iterations == 0 || n < static_cast<uint64_t>(opts_.iterations);
         ++n) {
        Snapshot snap = collector_->next(opts_.stop);
        if (opts_.stop && opts_.stop->load()) break;
        write_history(snap);
        const uint64_t now = monotonic_ns();
        measure_cost(now);
        if (now - last_retention_ns_ >= 600'000'000'000ULL || last_retention_ns_ == 0) {
            if (auto r = history_->enforce_retention(snap.end_unix_ms); !r)
                spdlog::warn("history retention: {}", r.error().message);
            last_retention_ns_ = now;
        }
        retry_probes(now);
        update_status(snap, now);
        notify_watchdog();
        if (opts_.reload && opts_.reload->exchange(false)) reload();
    }
    notify_stopping();
    record_tune(tune_->stop(unix_ms_now()), nullptr);
    http_.reset();
    alerts_.drain();
    remote_.reset();
    if (auto r = history_->flush(); !r) spdlog::error("history flush: {}", r.error().message);
    write_status_file();
    spdlog::info("stopped after {} intervals", status_.intervals);
    return 0;
}

}  // namespace

int run_daemon(const DaemonOptions& opts) {
    auto config = load_config(opts.config_path);
    if (!config) {
        spdlog::error("{}", config.error().message);
        return 2;
    }
    std::string path = opts.config_path;
    if (path.empty() && ::access(kDefaultConfigPath, F_OK) == 0) path = kDefaultConfigPath;
    Daemon d(opts, std::move(*config), path);
    return d.run();
}

}  // namespace perfbpf
