// The daemon's HTTP endpoint: GET /metrics (the Prometheus exposition) on its own thread.
// Anything else is refused cheaply: 404 for other paths, 405 for other methods on /metrics,
// 401 without the bearer token when one is configured. Requests are bounded in size and
// in how long the server waits for them, so a slow or hostile client cannot hold it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "util/listen_address.h"
#include "util/result.h"

namespace httplib {
class Server;
}

namespace perfbpf {

struct HttpServerOptions {
    ListenAddress listen;
    std::string bearer_token;  // "" : no authentication
    int read_timeout_s = 5;
    int write_timeout_s = 10;
    int threads = 2;  // concurrent requests; more wait in the kernel's accept queue
};

class HttpServer {
  public:
    // Produces the body of GET /metrics; called on the server's threads.
    using Render = std::function<std::string()>;

    // Binds and starts serving; fails with the address and errno text when it cannot bind.
    static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& opts, Render render);
    ~HttpServer();  // stops and joins
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    int port() const { return port_; }

  private:
    HttpServer() = default;
    std::unique_ptr<httplib::Server> server_;
    std::unique_ptr<std::thread> thread_;
    int port_ = 0;
};

}  // namespace perfbpf
