#include "collect/event_ring.h"

#include <cerrno>

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

std::vector<perfbpf_event> EventRing::drain() {
    if (rb_) ring_buffer__consume(rb_.get());
    std::vector<perfbpf_event> out;
    out.swap(state_->pending);
    return out;
}

}  // namespace perfbpf
