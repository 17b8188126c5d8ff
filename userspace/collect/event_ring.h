// Consumer of the shared "events" ring buffer.
#pragma once

#include <bpf/libbpf.h>

#include <memory>
#include <vector>

#include "perfbpf/common.h"
#include "util/result.h"

namespace perfbpf {

class EventRing {
  public:
    static Result<EventRing> open(int ring_fd);
    // Everything the kernel has submitted so far, in order.
    std::vector<perfbpf_event> drain();
    // Blocks until the kernel submits an event (it is then kept for drain()), a signal
    // arrives, or timeout_ns passed (rounded up to a millisecond).
    void wait(uint64_t timeout_ns);
    uint64_t malformed() const { return state_->malformed; }

  private:
    struct State {
        std::vector<perfbpf_event> pending;
        uint64_t malformed = 0;
    };
    struct Deleter {
        void operator()(ring_buffer* rb) const { ring_buffer__free(rb); }
    };
    static int on_sample(void* ctx, void* data, size_t size);
    // Heap-held so the callback's context pointer survives moves of EventRing.
    std::unique_ptr<State> state_ = std::make_unique<State>();
    std::unique_ptr<ring_buffer, Deleter> rb_;
};

}  // namespace perfbpf
