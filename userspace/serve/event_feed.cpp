#include "serve/event_feed.h"

namespace perfbpf {

void EventFeed::publish(std::string data) {
    {
        std::lock_guard lock(mu_);
        latest_.data = std::move(data);
        ++latest_.seq;
    }
    cv_.notify_all();
}

std::optional<EventFeed::Message> EventFeed::next(uint64_t seen, std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return closed_ || latest_.seq > seen; });
    if (closed_ || latest_.seq <= seen) return std::nullopt;
    return latest_;
}

EventFeed::Message EventFeed::latest() const {
    std::lock_guard lock(mu_);
    return latest_;
}

void EventFeed::close() {
    {
        std::lock_guard lock(mu_);
        closed_ = true;
    }
    cv_.notify_all();
}

bool EventFeed::closed() const {
    std::lock_guard lock(mu_);
    return closed_;
}

}  // namespace perfbpf
