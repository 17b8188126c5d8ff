// Prometheus remote write: the protobuf we post parses back into what /metrics shows, the
// queue drops its oldest and counts them, and which answers are retried.
#include "sinks/remote_write.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "remote.pb.h"
#include "sinks/snapshot_record.h"

namespace perfbpf {
namespace {

// A series as "name{label=value,...}" with its labels sorted, from either side.
using SampleMap = std::map<std::string, double>;

prometheus::WriteRequest decode(const std::string& body) {
    std::string raw;
    EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
    prometheus::WriteRequest req;
    EXPECT_TRUE(req.ParseFromString(raw));
    return req;
}

// Also checks what the protocol asks of every series: __name__ there, labels sorted by name.
SampleMap samples_of(const prometheus::WriteRequest& req, int64_t ts_ms) {
    SampleMap out;
    for (const auto& ts : req.timeseries()) {
        std::string name, labels;
        for (int i = 0; i < ts.labels_size(); ++i) {
            const auto& l = ts.labels(i);
            if (i > 0) {
                EXPECT_LT(ts.labels(i - 1).name(), l.name());
            }
            if (l.name() == "__name__")
                name = l.value();
            else
                labels += (labels.empty() ? "" : ",") + l.name() + "=" + l.value();
        }
        EXPECT_FALSE(name.empty());
        EXPECT_EQ(ts.samples_size(), 1);
        EXPECT_EQ(ts.samples(0).timestamp(), ts_ms);
        out[name + "{" + labels + "}"] = ts.samples(0).value();
    }
    return out;
}

// The text page's samples in the same form (label values unescaped).
SampleMap samples_of(const std::string& page) {
    SampleMap out;
    std::istringstream in(page);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        size_t i = line.find_first_of("{ ");
        const std::string name = line.substr(0, i);
        std::vector<std::pair<std::string, std::string>> labels;
        if (line[i] == '{') {
            ++i;
            while (line[i] != '}') {
                const size_t eq = line.find('=', i);
                std::string key = line.substr(i, eq - i), value;
                for (i = eq + 2; line[i] != '"'; ++i) {
                    if (line[i] == '\\') {
                        ++i;
                        value += line[i] == 'n' ? '\n' : line[i];
                    } else {
                        value += line[i];
                    }
                }
                labels.emplace_back(std::move(key), std::move(value));
                i += line[i + 1] == ',' ? 2 : 1;
            }
            ++i;
        }
        std::ranges::sort(labels);
        std::string key = name + "{";
        for (size_t k = 0; k < labels.size(); ++k)
            key += (k ? "," : "") + labels[k].first + "=" + labels[k].second;
        out[key + "}"] = std::stod(line.substr(i + 1));
    }
    return out;
}

// Polls `done` for up to 5 s (the sender is a thread of its own).
template <class Pred>
bool eventually(Pred done) {
    for (int i = 0; i < 500; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
}

RemoteWriteOptions fast_options() {
    RemoteWriteOptions o;
    o.url = "http://127.0.0.1:1/api/v1/write";  // never used: every test has its own Post
    o.flush_ms = 1;
    o.first_backoff_ms = 1;
    o.max_backoff_ms = 4;
    o.timeout_s = 1;
    return o;
}

// Counts the samples an exposition hands a remote write.
struct Counter final : PromWriter {
    size_t n = 0;
    void family(std::string_view, PromType, std::string_view) override {}
    void sample(std::string_view, const Labels&, double, Extra) override { ++n; }
};

Exposition counter_exposition() {
    SeriesSample s;
    s.key = {"read_bytes", {{"device", "sda"}}};
    s.kind = MetricKind::counter;
    s.value = 10;
    Exposition x;
    x.update(std::vector{s});
    return x;
}

size_t samples_per_push(const Exposition& x) {
    Counter c;
    x.write_current(c, {});
    return c.n;
}

TEST(RemoteWrite, ConcatenatedSamplesParseAsOneRequest) {
    const std::vector<std::string> batch = {
        encode_sample("perfbpf_runq_seconds_bucket", {{"cpu", "3"}}, {"le", "+Inf"}, 8, 1000),
        encode_sample("perfbpf_cpu_ratio", {{"cgroup", "/a"}, {"comm", "x"}}, {}, 0.25, 2000)};
    const auto req = decode(write_request_body(batch));
    ASSERT_EQ(req.timeseries_size(), 2);
    const auto& h = req.timeseries(0);
    ASSERT_EQ(h.labels_size(), 3);
    EXPECT_EQ(h.labels(0).name(), "__name__");
    EXPECT_EQ(h.labels(0).value(), "perfbpf_runq_seconds_bucket");
    EXPECT_EQ(h.labels(1).name(), "cpu");
    EXPECT_EQ(h.labels(2).name(), "le");
    EXPECT_EQ(h.labels(2).value(), "+Inf");
    EXPECT_DOUBLE_EQ(h.samples(0).value(), 8);
    EXPECT_EQ(req.timeseries(1).samples(0).timestamp(), 2000);
    EXPECT_EQ(req.timeseries(1).labels(2).value(), "x");
}

// Over a recorded run: every sample sent is on the /metrics page with the same name, labels
// and value (running totals and cumulative buckets included), and every series of the last
// interval is sent.
// Lengths past one varint byte, zero, negative and NaN values, a timestamp past 2^32.
TEST(RemoteWrite, EdgeValuesParseBack) {
    const std::string long_path = "/" + std::string(300, 'x') + "/\xc3\xa9t\xc3\xa9";
    const std::vector<std::string> batch = {
        encode_sample("perfbpf_rss_bytes", {{"cgroup", long_path}}, {}, 0, 1'796'428'800'000),
        encode_sample("perfbpf_rss_growth_bytes", {}, {}, -1.5, 1),
        encode_sample("perfbpf_cpu_ratio", {}, {}, std::nan(""), 0)};
    const auto req = decode(write_request_body(batch));
    ASSERT_EQ(req.timeseries_size(), 3);
    EXPECT_EQ(req.timeseries(0).labels(1).value(), long_path);
    EXPECT_EQ(req.timeseries(0).samples(0).value(), 0);
    EXPECT_EQ(req.timeseries(0).samples(0).timestamp(), 1'796'428'800'000);
    EXPECT_EQ(req.timeseries(1).samples(0).value(), -1.5);
    EXPECT_EQ(req.timeseries(1).samples(0).timestamp(), 1);
    EXPECT_TRUE(std::isnan(req.timeseries(2).samples(0).value()));
}

// instance and job are added where a sample has none of its own.
TEST(RemoteWrite, ExternalLabelsYieldToTheSamplesOwn) {
    const Labels external = {{"instance", "web-3"}, {"job", "perfbpf"}};
    const std::vector<std::string> batch = {
        encode_sample("perfbpf_cpu_ratio", {{"cgroup", "/a"}}, {}, 0.5, 1000, external),
        encode_sample("perfbpf_alert_state", {{"alert", "x"}, {"job", "db"}}, {}, 1, 1000,
                      external)};
    const SampleMap got = samples_of(decode(write_request_body(batch)), 1000);
    EXPECT_TRUE(got.contains("perfbpf_cpu_ratio{cgroup=/a,instance=web-3,job=perfbpf}"));
    EXPECT_TRUE(got.contains("perfbpf_alert_state{alert=x,instance=web-3,job=db}"));
}

TEST(RemoteWrite, SendsWhatMetricsShowsForTheInterval) {
    auto snaps =
        read_recording(std::string(PERFBPF_FIXTURES_DIR) + "/recordings/cpu-contention.jsonl");
    ASSERT_TRUE(snaps) << snaps.error().message;
    ASSERT_GE(snaps->size(), 2u);
    Exposition x;
    for (const auto& snap : *snaps) x.update(snapshot_series(snap));
    DaemonStatus status;
    status.intervals = snaps->size();
    x.render(status);
    std::vector<std::string> bodies;
    auto opts = fast_options();
    opts.batch_samples = 1'000'000;
    opts.flush_ms = 60'000;  // all in one post, when the writer stops
    std::optional<RemoteWriter> w;
    w.emplace(opts, [&](const std::string& body) {
        bodies.push_back(body);
        return PostOutcome{204, {}};
    });
    w->push(x, status, 1'700'000'000'123);
    w.reset();
    const SampleMap page = samples_of(x.render(status));
    ASSERT_EQ(bodies.size(), 1u);
    const SampleMap sent = samples_of(decode(bodies[0]), 1'700'000'000'123);
    for (const auto& [series, v] : sent) {
        auto it = page.find(series);
        ASSERT_NE(it, page.end()) << series << " sent, not on the page";
        EXPECT_EQ(it->second, v) << series;
    }
    EXPECT_GE(sent.size(), snapshot_series(snaps->back()).size());
    EXPECT_TRUE(sent.contains("perfbpf_self_intervals_total{}"));
    EXPECT_TRUE(std::ranges::any_of(
        sent, [](const auto& kv) { return kv.first.find("_bucket{") != std::string::npos; }));
}

TEST(RemoteWrite, QueueDropsTheOldest) {
    SampleQueue q(3);
    for (std::string s : {"a", "b", "c", "d", "e"}) q.push(s);
    EXPECT_EQ(q.dropped(), 2u);
    EXPECT_EQ(q.size(), 3u);
    EXPECT_EQ(q.take(2), (std::vector<std::string>{"c", "d"}));
    EXPECT_EQ(q.take(5), (std::vector<std::string>{"e"}));
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.dropped(), 2u);
}

// With the receiver down, every sample pushed is queued, in flight, or counted as dropped.
TEST(RemoteWrite, AnOutageCostsTheOldestSamplesCounted) {
    const Exposition x = counter_exposition();
    const size_t per_push = samples_per_push(x);
    auto opts = fast_options();
    opts.queue_samples = per_push + 1;
    opts.batch_samples = 2;
    RemoteWriter w(opts, [](const std::string&) { return PostOutcome{0, "connection refused"}; });
    for (int i = 0; i < 5; ++i) w.push(x, {}, 1000 + i);
    ASSERT_TRUE(eventually([&] { return w.stats().failed_requests >= 2; }));
    const auto s = w.stats();
    EXPECT_EQ(s.sent_samples, 0u);
    EXPECT_EQ(s.dropped_rejected, 0u);
    EXPECT_GT(s.dropped_queue_full, 0u);
    EXPECT_LE(s.queued_samples, opts.queue_samples + opts.batch_samples);
    EXPECT_EQ(s.dropped_queue_full + s.queued_samples, 5 * per_push);
    EXPECT_EQ(s.last_error, "connection refused");
}

TEST(RemoteWrite, RetriesNoAnswerAndServerErrorsOnly) {
    EXPECT_EQ(send_decision(200), SendDecision::sent);
    EXPECT_EQ(send_decision(204), SendDecision::sent);
    EXPECT_EQ(send_decision(0), SendDecision::retry);
    EXPECT_EQ(send_decision(500), SendDecision::retry);
    EXPECT_EQ(send_decision(503), SendDecision::retry);
    EXPECT_EQ(send_decision(400), SendDecision::drop);
    EXPECT_EQ(send_decision(404), SendDecision::drop);
    EXPECT_EQ(send_decision(413), SendDecision::drop);
    EXPECT_EQ(send_decision(429), SendDecision::drop);
}

// 503 twice, then accepted: the same bytes three times, sent once, two failures counted.
TEST(RemoteWrite, AServerErrorIsRetriedWithTheSameBatch) {
    const Exposition x = counter_exposition();
    std::mutex mu;
    std::vector<std::string> bodies;
    RemoteWriter w(fast_options(), [&](const std::string& body) {
        std::lock_guard lock(mu);
        bodies.push_back(body);
        return PostOutcome{bodies.size() <= 2 ? 503 : 204, "HTTP 503"};
    });
    w.push(x, {}, 5000);
    ASSERT_TRUE(eventually([&] { return w.stats().sent_samples > 0; }));
    const auto s = w.stats();
    EXPECT_EQ(s.sent_samples, samples_per_push(x));
    EXPECT_EQ(s.failed_requests, 2u);
    EXPECT_EQ(s.queued_samples, 0u);
    std::lock_guard lock(mu);
    ASSERT_EQ(bodies.size(), 3u);
    EXPECT_EQ(bodies[0], bodies[2]);
}

// A 4xx: the receiver will refuse the same bytes again, so they are dropped at once.
TEST(RemoteWrite, AClientErrorDropsTheBatch) {
    const Exposition x = counter_exposition();
    std::atomic<int> posts = 0;
    RemoteWriter w(fast_options(), [&](const std::string&) {
        ++posts;
        return PostOutcome{400, "HTTP 400 out of order sample"};
    });
    w.push(x, {}, 5000);
    ASSERT_TRUE(eventually([&] { return w.stats().dropped_rejected > 0; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto s = w.stats();
    EXPECT_EQ(s.dropped_rejected, samples_per_push(x));
    EXPECT_EQ(s.failed_requests, 1u);
    EXPECT_EQ(posts.load(), 1);
    EXPECT_EQ(s.queued_samples, 0u);
    EXPECT_EQ(s.last_error, "HTTP 400 out of order sample");
}

TEST(RemoteWrite, SelfMetricsOnThePage) {
    DaemonStatus status;
    status.remote_write = {.enabled = true,
                           .sent_samples = 10,
                           .failed_requests = 2,
                           .dropped_queue_full = 3,
                           .dropped_rejected = 4,
                           .queued_samples = 5,
                           .last_error = {}};
    Exposition x;
    const SampleMap page = samples_of(x.render(status));
    EXPECT_EQ(page.at("perfbpf_self_remote_write_sent_samples_total{}"), 10);
    EXPECT_EQ(page.at("perfbpf_self_remote_write_failed_requests_total{}"), 2);
    EXPECT_EQ(page.at("perfbpf_self_remote_write_dropped_samples_total{reason=queue_full}"), 3);
    EXPECT_EQ(page.at("perfbpf_self_remote_write_dropped_samples_total{reason=rejected}"), 4);
    EXPECT_EQ(page.at("perfbpf_self_remote_write_queued_samples{}"), 5);
    EXPECT_FALSE(samples_of(x.render({})).contains("perfbpf_self_remote_write_queued_samples{}"));
}

}  // namespace
}  // namespace perfbpf
