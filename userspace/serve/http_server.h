// The daemon's HTTP endpoint on its own threads: a table of GET routes (GET /metrics, the
// dashboard and its API) and server-sent-event streams. Anything else is refused cheaply:
// 404 for other paths, 405 for other methods on a known path, 401 without the bearer token
// when one is configured (on every route). Requests are bounded in size and in how long the
// server waits for them, so a slow or hostile client cannot hold it; event streams are
// bounded in number, so they cannot take every thread from /metrics.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "serve/event_feed.h"
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
    // Concurrent requests besides event streams; more wait in the kernel's accept queue.
    int threads = 2;
    // Open event streams at most (each holds a thread of its own); more get 503.
    int max_event_streams = 4;
};

struct HttpRequest {
    std::string path;
    std::map<std::string, std::string> params;  // query parameters (the first of a repeated one)
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

// 400/404/503 and friends: a one-line plain-text reason.
HttpResponse http_error(int status, std::string reason);

struct HttpRoutes {
    using Handler = std::function<HttpResponse(const HttpRequest&)>;
    std::map<std::string, Handler, std::less<>> get;  // exact path -> handler (HEAD too)
    // Exact path -> feed: text/event-stream, one `data:` event per message published.
    std::map<std::string, std::shared_ptr<EventFeed>, std::less<>> events;
};

class HttpServer {
  public:
    // Produces the body of GET /metrics; called on the server's threads.
    using Render = std::function<std::string()>;

    // Binds and starts serving; fails with the address and errno text when it cannot bind.
    // Handlers run on the server's threads, concurrently.
    static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& opts,
                                                     HttpRoutes routes);
    // Only GET /metrics.
    static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& opts, Render render);
    ~HttpServer();  // ends the event streams, stops and joins
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    int port() const { return port_; }

  private:
    HttpServer() = default;
    std::unique_ptr<httplib::Server> server_;
    std::unique_ptr<std::thread> thread_;
    std::vector<std::shared_ptr<EventFeed>> feeds_;
    int port_ = 0;
};

// The /metrics route: the Prometheus text exposition from `render`.
HttpRoutes::Handler metrics_handler(HttpServer::Render render);

}  // namespace perfbpf
