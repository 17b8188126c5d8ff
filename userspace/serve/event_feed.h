// One message per interval to every open server-sent-events stream: the newest message and
// its sequence number. A slow reader skips to the newest rather than queueing the ones it
// missed, so a stalled browser costs the daemon nothing but its connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace perfbpf {

class EventFeed {
  public:
    struct Message {
        uint64_t seq = 0;
        std::string data;
    };

    void publish(std::string data);
    // The newest message if its seq is above `seen`, waiting up to `wait` for one; nullopt
    // on timeout or once closed.
    std::optional<Message> next(uint64_t seen, std::chrono::milliseconds wait);
    // The newest message now (seq 0 before the first).
    Message latest() const;
    // Wakes every waiter for good: the server is stopping.
    void close();
    bool closed() const;

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    Message latest_;
    bool closed_ = false;
};

}  // namespace perfbpf
