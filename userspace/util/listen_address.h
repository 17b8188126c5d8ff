// Where the daemon's HTTP endpoint listens: parsed where the config is read, so a bad
// address is a configuration error naming the key, not a failure at bind time.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace perfbpf {

inline constexpr const char* kDefaultListen = "127.0.0.1:9637";

struct ListenAddress {
    std::string host;  // an IPv4 or IPv6 literal, without brackets
    int port = 0;      // 0: any free port (tests)
    bool loopback = false;
};

// "ADDR:PORT" with ADDR an IP literal ("[::1]:9637" for IPv6); no host names, so what is
// exposed never depends on name resolution.
Result<ListenAddress> parse_listen(std::string_view text);

}  // namespace perfbpf
