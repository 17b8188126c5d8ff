#include "collect/event_ring.h"

#include <algorithm>
#include <cerrno>
#include <climits>

#include "collect/parse/events.h"

namespace perfbpf {

int EventRing::on_sample(void* ctx, void* data, size_t size) {
    auto* state = static_cast<State*>(ctx);
    if (auto e = decode_event(data, size))
        state->pending.push_back(*e);
    else
        ++state->malformed;
    return 0;
}

Result<EventRing> EventRing::open(int ring_fd) {
    EventRing ring;
    ring_buffer* rb = ring_buffer__new(ring_fd, &EventRing::on_sample, ring.state_.get(), nullptr);
    if (!rb) return fail_errno("open events ring buffer", errno);
    ring.rb_.reset(rb);
    return ring;
}

void EventRing::wait(uint64_t timeout_ns) {
    const uint64_t ms = std::min<uint64_t>((timeout_ns + 999'999) / 1'000'000, INT_MAX);
    // A negative result (EINTR from a signal) is a wake-up like any other.
    if (rb_) ring_buffer__poll(rb_.get(), static_cast<int>(ms));
}

std::vector<perfbpf_event> EventRing::drain() {
    if (rb_) ring_buffer__consume(rb_.get());
    std::vector<perfbpf_event> out;
    out.swap(state_->pending);
    return out;
}

}  // namespace perfbpf
