// An http:// URL split the way cpp-httplib's Client wants it: the client takes the origin
// ("http://host:port"), each request the path ("/api/v1/write", "/" when there is none).
#pragma once

#include <string>
#include <utility>

namespace perfbpf {

struct HttpUrl {
    std::string origin, path;
};

inline HttpUrl split_http_url(const std::string& url) {
    const size_t scheme = url.find("://");
    const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    if (slash == std::string::npos) return {url, "/"};
    return {url.substr(0, slash), url.substr(slash)};
}

}  // namespace perfbpf
