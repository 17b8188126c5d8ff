#include "sinks/remote_write.h"

#include <snappy.h>

#include <algorithm>
#include <bit>
#include <utility>

namespace perfbpf {
namespace {

// The protobuf keys (field number << 3 | wire type) of proto/remote.proto and types.proto:
// wire type 2 length-delimited, 1 a 64-bit double, 0 a varint.
constexpr uint8_t kWriteRequestTimeseries = (1 << 3) | 2;
constexpr uint8_t kTimeSeriesLabels = (1 << 3) | 2;
constexpr uint8_t kTimeSeriesSamples = (2 << 3) | 2;
constexpr uint8_t kLabelName = (1 << 3) | 2;
constexpr uint8_t kLabelValue = (2 << 3) | 2;
constexpr uint8_t kSampleValue = (1 << 3) | 1;
constexpr uint8_t kSampleTimestamp = (2 << 3) | 0;

size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out += static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
}

// A length-delimited field's key and length; its bytes follow.
void put_len(std::string& out, uint8_t key, size_t len) {
    out += static_cast<char>(key);
    put_varint(out, len);
}

// Encodes each sample of the exposition it is handed; families carry nothing remote write
// sends (protocol 1.0 has no metadata in the samples).
class SampleEncoder final : public PromWriter {
  public:
    SampleEncoder(int64_t ts_ms, const Labels& external) : ts_ms_(ts_ms), external_(external) {}
    void family(std::string_view, PromType, std::string_view) override {}
    void sample(std::string_view name, const Labels& labels, double v, Extra extra) override {
        samples_.push_back(encode_sample(name, labels, extra, v, ts_ms_, external_));
    }
    std::vector<std::string>& samples() { return samples_; }

  private:
    int64_t ts_ms_;
    const Labels& external_;
    std::vector<std::string> samples_;
};

}  // namespace

SendDecision send_decision(int status) {
    if (status >= 200 && status < 300) return SendDecision::sent;
    if (status == 0 || status >= 500) return SendDecision::retry;
    return SendDecision::drop;
}

std::string encode_sample(std::string_view name, const Labels& labels, PromWriter::Extra extra,
                          double value, int64_t ts_ms, const Labels& external) {
    thread_local std::vector<std::pair<std::string_view, std::string_view>> all;
    all.clear();
    all.emplace_back("__name__", name);
    for (const auto& [n, v] : labels) all.emplace_back(n, v);
    if (!extra.name.empty()) all.emplace_back(extra.name, extra.value);
    const size_t own = all.size();
    for (const auto& [n, v] : external)
        if (std::none_of(all.begin(), all.begin() + static_cast<ptrdiff_t>(own),
                         [&](const auto& l) { return l.first == n; }))
            all.emplace_back(n, v);
    std::ranges::sort(all);

    // Written field by field rather than through the generated classes: building message
    // objects cost 750 ns a sample, most of it allocating and freeing their strings, and the
    // daemon encodes thousands of samples an interval (bench/remote_write_bench). The tests
    // parse the result with the classes protoc generated from proto/.
    auto bytes_field = [](size_t len) { return 1 + varint_size(len) + len; };
    size_t series_len = 0;
    for (const auto& [n, v] : all)
        series_len += bytes_field(bytes_field(n.size()) + bytes_field(v.size()));
    const uint64_t ts_bits = static_cast<uint64_t>(ts_ms);
    const size_t sample_len = 1 + 8 + 1 + varint_size(ts_bits);
    series_len += bytes_field(sample_len);
    std::string out;
    out.reserve(bytes_field(series_len));
    put_len(out, kWriteRequestTimeseries, series_len);
    for (const auto& [n, v] : all) {
        put_len(out, kTimeSeriesLabels, bytes_field(n.size()) + bytes_field(v.size()));
        put_len(out, kLabelName, n.size());
        out += n;
        put_len(out, kLabelValue, v.size());
        out += v;
    }
    put_len(out, kTimeSeriesSamples, sample_len);
    out += static_cast<char>(kSampleValue);
    const auto value_bits = std::bit_cast<uint64_t>(value);
    for (int i = 0; i < 8; ++i) out += static_cast<char>((value_bits >> (8 * i)) & 0xff);
    out += static_cast<char>(kSampleTimestamp);
    put_varint(out, ts_bits);
    return out;
}

std::string write_request_body(std::span<const std::string> samples) {
    std::string raw;
    size_t n = 0;
    for (const auto& s : samples) n += s.size();
    raw.reserve(n);
    for (const auto& s : samples) raw += s;
    std::string body;
    snappy::Compress(raw.data(), raw.size(), &body);
    return body;
}

void SampleQueue::push(std::string sample) {
    if (q_.size() >= capacity_) {
        q_.pop_front();
        ++dropped_;
    }
    q_.push_back(std::move(sample));
}

std::vector<std::string> SampleQueue::take(size_t n) {
    n = std::min(n, q_.size());
    std::vector<std::string> out(std::make_move_iterator(q_.begin()),
                                 std::make_move_iterator(q_.begin() + static_cast<ptrdiff_t>(n)));
    q_.erase(q_.begin(), q_.begin() + static_cast<ptrdiff_t>(n));
    return out;
}

RemoteWriter::RemoteWriter(RemoteWriteOptions opts, Post post)
    : opts_(std::move(opts)),
      post_(post ? std::move(post)
                 : http_remote_write(opts_.url, opts_.timeout_s, opts_.bearer_token)),
      queue_(opts_.queue_samples) {
    opts_.batch_samples = std::max<size_t>(opts_.batch_samples, 1);
    stats_.enabled = true;
    thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

RemoteWriter::~RemoteWriter() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
}

void RemoteWriter::push(const Exposition& e, const DaemonStatus& status, int64_t ts_ms) {
    SampleEncoder enc(ts_ms, opts_.external_labels);
    e.write_current(enc, status);
    {
        std::lock_guard lock(mu_);
        for (auto& s : enc.samples()) queue_.push(std::move(s));
    }
    cv_.notify_all();
}

DaemonStatus::RemoteWrite RemoteWriter::stats() const {
    std::lock_guard lock(mu_);
    DaemonStatus::RemoteWrite s = stats_;
    s.dropped_queue_full = queue_.dropped();
    s.queued_samples = queue_.size() + in_flight_.size();
    return s;
}

bool RemoteWriter::send(std::unique_lock<std::mutex>& lock) {
    // in_flight_ is this thread's alone; mu_ guards it for stats().
    lock.unlock();
    const PostOutcome out = post_(write_request_body(in_flight_));
    lock.lock();
    const SendDecision d = send_decision(out.status);
    if (d != SendDecision::sent) {
        ++stats_.failed_requests;
        stats_.last_error = out.error;
    }
    if (d == SendDecision::retry) {
        backoff_ms_ = std::clamp(backoff_ms_ * 2, opts_.first_backoff_ms, opts_.max_backoff_ms);
        retry_at_ = Clock::now() + std::chrono::milliseconds(backoff_ms_);
        return false;
    }
    (d == SendDecision::sent ? stats_.sent_samples : stats_.dropped_rejected) += in_flight_.size();
    in_flight_.clear();
    backoff_ms_ = 0;
    return true;
}

void RemoteWriter::run(std::stop_token stop) {
    std::unique_lock lock(mu_);
    while (!stop.stop_requested()) {
        if (!in_flight_.empty()) {
            // A batch to retry: nothing else goes before it, so samples stay in time order.
            cv_.wait_until(lock, stop, retry_at_, [] { return false; });
        } else {
            const auto due = last_take_ + std::chrono::milliseconds(opts_.flush_ms);
            const bool full = cv_.wait_until(lock, stop, due,
                                             [&] { return queue_.size() >= opts_.batch_samples; });
            if (!full && Clock::now() < due) continue;
            last_take_ = Clock::now();
            in_flight_ = queue_.take(opts_.batch_samples);
        }
        if (stop.stop_requested() || in_flight_.empty()) continue;
        send(lock);
    }
    // Stopping: unless the receiver is failing now, what is queued gets one try, bounded by
    // one timeout in all so the daemon's exit is not held up by a slow receiver.
    if (backoff_ms_ != 0) return;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(opts_.timeout_s));
    while (Clock::now() < deadline) {
        if (in_flight_.empty()) in_flight_ = queue_.take(opts_.batch_samples);
        if (in_flight_.empty() || !send(lock)) return;
    }
}

}  // namespace perfbpf
