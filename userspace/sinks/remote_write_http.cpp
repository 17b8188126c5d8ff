// The remote-write POST (cpp-httplib's Client, kept to this file: the header is heavy).
#include <httplib.h>

#include <chrono>

#include "sinks/http_url.h"
#include "sinks/remote_write.h"

namespace perfbpf {

RemoteWriter::Post http_remote_write(const std::string& url, double timeout_s,
                                     const std::string& bearer_token) {
    HttpUrl u = split_http_url(url);
    const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::duration<double>(timeout_s));
    return [origin = std::move(u.origin), path = std::move(u.path), url, timeout,
            bearer_token](const std::string& body) -> PostOutcome {
        // A client per post: one every few seconds, and nothing to go stale while the
        // receiver restarts.
        httplib::Client cli(origin);
        cli.set_connection_timeout(timeout);
        cli.set_read_timeout(timeout);
        cli.set_write_timeout(timeout);
        if (!bearer_token.empty()) cli.set_bearer_token_auth(bearer_token);
        const httplib::Headers headers = {{"Content-Encoding", "snappy"},
                                          {"X-Prometheus-Remote-Write-Version", "0.1.0"},
                                          {"User-Agent", "perfbpf"}};
        auto res = cli.Post(path, headers, body, "application/x-protobuf");
        if (!res) return {0, "POST " + url + ": " + httplib::to_string(res.error()) + " error"};
        if (res->status >= 200 && res->status < 300) return {res->status, {}};
        std::string why = res->body.substr(0, 200);
        why.erase(why.find_last_not_of(" \t\r\n") + 1);
        return {res->status, "POST " + url + ": HTTP " + std::to_string(res->status) + " " + why};
    };
}

}  // namespace perfbpf
