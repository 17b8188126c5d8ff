#include "sinks/remote_write.h"

#include <snappy.h>

#include <algorithm>
#include <utility>

#include "remote.pb.h"

namespace perfbpf {
namespace {

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
    std::vector<std::pair<std::string_view, std::string_view>> all;
    all.reserve(labels.size() + external.size() + 2);
    all.emplace_back("__name__", name);
    for (const auto& [n, v] : labels) all.emplace_back(n, v);
    if (!extra.name.empty()) all.emplace_back(extra.name, extra.value);
    const size_t own = all.size();
    for (const auto& [n, v] : external)
        if (std::none_of(all.begin(), all.begin() + static_cast<ptrdiff_t>(own),
                         [&](const auto& l) { return l.first == n; }))
            all.emplace_back(n, v);
    std::ranges::sort(all);
    prometheus::WriteRequest req;
    prometheus::TimeSeries* ts = req.add_timeseries();
    for (const auto& [n, v] : all) {
        prometheus::Label* l = ts->add_labels();
        l->set_name(std::string(n));
        l->set_value(std::string(v));
    }
    prometheus::Sample* s = ts->add_samples();
    s->set_value(value);
    s->set_timestamp(ts_ms);
    return req.SerializeAsString();
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
