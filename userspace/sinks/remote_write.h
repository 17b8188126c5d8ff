// Prometheus remote write (protocol 1.0): each interval, the samples /metrics would show for
// it (Exposition::write_current: the same names, running totals, histogram buckets and
// self-metrics) are encoded with the interval's end as their timestamp and queued; a thread
// of its own posts them in batches, so a slow or dead receiver never holds up collection.
//
// Batches: up to batch_samples, or what has waited flush_ms. A post that got no answer or a
// 5xx is retried with backoff (first_backoff_ms doubling to max_backoff_ms); a 4xx is not
// (the receiver will refuse the same bytes again): its batch is dropped and counted. The
// queue holds queue_samples at most; past that the oldest are dropped and counted, so an
// outage costs the oldest data, never the daemon's memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "model/daemon_status.h"
#include "sinks/prometheus.h"

namespace perfbpf {

struct RemoteWriteOptions {
    std::string url;  // http://host:port/path
    size_t batch_samples = 2000;
    size_t queue_samples = 100000;
    double timeout_s = 10;     // connect, send and receive, each
    std::string bearer_token;  // "": no Authorization header
    // Added to every sample that has no label of that name (the daemon's: instance, job),
    // so samples of several hosts do not collide at the receiver.
    Labels external_labels;
    int64_t flush_ms = 5000;
    int64_t first_backoff_ms = 500;
    int64_t max_backoff_ms = 30000;
};

// One post's outcome: the HTTP status, or 0 when none came (refused, timed out), with why.
struct PostOutcome {
    int status = 0;
    std::string error;
};

enum class SendDecision : uint8_t { sent, retry, drop };
// 2xx: sent; no response or 5xx: retry; anything else (4xx): drop.
SendDecision send_decision(int status);

// One sample as a serialized WriteRequest of one TimeSeries of one Sample: `__name__`, the
// labels (the extra one among them) and those of `external` the sample does not have,
// sorted by name as the protocol asks. Serialized
// messages concatenate into one whose repeated fields are appended (protobuf's merge), so a
// batch's request is its samples' bytes one after another.
std::string encode_sample(std::string_view name, const Labels& labels, PromWriter::Extra extra,
                          double value, int64_t ts_ms, const Labels& external = {});
// The POST body of a batch: the concatenation, snappy block-compressed.
std::string write_request_body(std::span<const std::string> samples);

// Encoded samples waiting to be sent, at most `capacity`: pushing onto a full queue drops
// the oldest.
class SampleQueue {
  public:
    explicit SampleQueue(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}
    void push(std::string sample);
    // Up to n of the oldest, removed from the queue.
    std::vector<std::string> take(size_t n);
    size_t size() const { return q_.size(); }
    bool empty() const { return q_.empty(); }
    uint64_t dropped() const { return dropped_; }

  private:
    size_t capacity_;
    std::deque<std::string> q_;
    uint64_t dropped_ = 0;
};

class RemoteWriter {
  public:
    using Post = std::function<PostOutcome(const std::string& body)>;

    // `post` stands in for the HTTP client in tests; empty: POST to opts.url.
    explicit RemoteWriter(RemoteWriteOptions opts, Post post = {});
    // Stops the sender: what is queued gets one more try within timeout_s, then is left.
    ~RemoteWriter();
    RemoteWriter(const RemoteWriter&) = delete;
    RemoteWriter& operator=(const RemoteWriter&) = delete;

    // Queues the interval's samples (call with the exposition's lock held).
    void push(const Exposition& e, const DaemonStatus& status, int64_t ts_ms);
    DaemonStatus::RemoteWrite stats() const;

  private:
    using Clock = std::chrono::steady_clock;
    void run(std::stop_token stop);
    // Posts in_flight_ (mu_ unlocked around the post); false when it is to be retried.
    bool send(std::unique_lock<std::mutex>& lock);

    RemoteWriteOptions opts_;
    Post post_;
    mutable std::mutex mu_;
    std::condition_variable_any cv_;
    SampleQueue queue_;
    std::vector<std::string> in_flight_;
    DaemonStatus::RemoteWrite stats_;
    int64_t backoff_ms_ = 0;  // 0: the last post did not fail
    Clock::time_point retry_at_{};
    Clock::time_point last_take_ = Clock::now();
    std::jthread thread_;
};

// The POST of a remote-write body to `url` with the protocol's headers (cpp-httplib).
RemoteWriter::Post http_remote_write(const std::string& url, double timeout_s,
                                     const std::string& bearer_token);

}  // namespace perfbpf
