#include "util/listen_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace perfbpf {

Result<ListenAddress> parse_listen(std::string_view text) {
    const std::string what = "listen address '" + std::string(text) + "'";
    ListenAddress a;
    std::string_view port;
    if (text.starts_with('[')) {
        const size_t close = text.find("]:");
        if (close == std::string_view::npos)
            return fail(what + ": an IPv6 address is written [ADDR]:PORT");
        a.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        const size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) return fail(what + ": expected ADDR:PORT");
        a.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
        if (a.host.find(':') != std::string::npos)
            return fail(what + ": an IPv6 address is written [ADDR]:PORT");
    }
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || a.port < 0 ||
        a.port > 65535)
        return fail(what + ": the port must be a number from 0 to 65535");
    in_addr v4{};
    in6_addr v6{};
    if (::inet_pton(AF_INET, a.host.c_str(), &v4) == 1) {
        a.loopback = (ntohl(v4.s_addr) >> 24) == 127;
    } else if (::inet_pton(AF_INET6, a.host.c_str(), &v6) == 1) {
        a.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    } else {
        return fail(what + ": '" + a.host + "' is not an IP address (host names are not resolved)");
    }
    return a;
}

}  // namespace perfbpf
