#include "serve/http_server.h"

#include <httplib.h>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <thread>

namespace perfbpf {

namespace {

// Requests carry no body we want; this bounds what a client can make us buffer. (The URI and
// each header line are bounded by the library: 8 KiB.)
constexpr size_t kMaxPayloadBytes = 4096;

// How often an event stream looks whether the server is stopping or the client left, and
// sends a comment line when nothing was published (proxies drop silent connections).
constexpr std::chrono::milliseconds kEventPoll{1000};
constexpr int kKeepalivePolls = 15;

// Compares in time independent of where the strings differ, so the token cannot be guessed
// byte by byte from response times.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

void plain(httplib::Response& res, int status, std::string body) {
    res.status = status;
    res.set_content(std::move(body), "text/plain; charset=utf-8");
}

bool known(const HttpRoutes& routes, const std::string& path) {
    return routes.get.contains(path) || routes.events.contains(path);
}

// Holds one of the event-stream slots until the stream ends.
struct StreamSlot {
    explicit StreamSlot(std::shared_ptr<std::atomic<int>> o) : open(std::move(o)) {}
    StreamSlot(const StreamSlot&) = delete;
    StreamSlot& operator=(const StreamSlot&) = delete;
    ~StreamSlot() { --*open; }
    std::shared_ptr<std::atomic<int>> open;
};

void serve_events(std::shared_ptr<EventFeed> feed, std::shared_ptr<std::atomic<int>> open,
                  int max_streams, httplib::Response& res) {
    if (++*open > max_streams) {
        --*open;
        res.set_header("Retry-After", "10");
        return plain(
            res, 503,
            "too many event streams open (" + std::to_string(max_streams) + "); try again later\n");
    }
    auto slot = std::make_shared<StreamSlot>(open);
    res.set_header("Cache-Control", "no-store");
    // A new stream starts with the newest message, so a page has data at once.
    auto seen = std::make_shared<uint64_t>(0);
    auto idle = std::make_shared<int>(0);
    res.set_chunked_content_provider(
        "text/event-stream",
        [feed, seen, idle](size_t, httplib::DataSink& sink) {
            if (feed->closed() || !sink.is_writable()) return false;
            auto m = feed->next(*seen, kEventPoll);
            if (feed->closed()) return false;
            if (!m) {
                if (++*idle < kKeepalivePolls) return true;
                *idle = 0;
                return sink.write(": keepalive\n\n", 13);
            }
            *idle = 0;
            *seen = m->seq;
            std::string ev = "id: " + std::to_string(m->seq) + "\ndata: " + m->data + "\n\n";
            return sink.write(ev.data(), ev.size());
        },
        [slot](bool) {});
}

}  // namespace

HttpResponse http_error(int status, std::string reason) {
    if (reason.empty() || reason.back() != '\n') reason += '\n';
    return HttpResponse{status, "text/plain; charset=utf-8", std::move(reason)};
}

HttpRoutes::Handler metrics_handler(HttpServer::Render render) {
    return [render = std::move(render)](const HttpRequest&) {
        return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", render()};
    };
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& opts,
                                                      Render render) {
    HttpRoutes routes;
    routes.get["/metrics"] = metrics_handler(std::move(render));
    return start(opts, std::move(routes));
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& opts,
                                                      HttpRoutes routes) {
    std::unique_ptr<HttpServer> self(new HttpServer());
    auto svr = std::make_unique<httplib::Server>();
    const int max_streams = routes.events.empty() ? 0 : opts.max_event_streams;
    const int threads = opts.threads + max_streams;
    svr->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    svr->set_read_timeout(opts.read_timeout_s, 0);
    svr->set_write_timeout(opts.write_timeout_s, 0);
    svr->set_keep_alive_timeout(opts.read_timeout_s);
    svr->set_payload_max_length(kMaxPayloadBytes);
    // The library's default adds SO_REUSEPORT: a second daemon would bind the same port and
    // take half the scrapes. SO_REUSEADDR alone lets a restart rebind past TIME_WAIT.
    svr->set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    if (!opts.bearer_token.empty()) {
        const std::string expected = "Bearer " + opts.bearer_token;
        svr->set_pre_routing_handler(
            [expected](const httplib::Request& req, httplib::Response& res) {
                if (same_secret(req.get_header_value("Authorization"), expected))
                    return httplib::Server::HandlerResponse::Unhandled;
                res.set_header("WWW-Authenticate", "Bearer");
                plain(res, 401, "a bearer token is required\n");
                return httplib::Server::HandlerResponse::Handled;
            });
    }
    auto table = std::make_shared<const HttpRoutes>(std::move(routes));
    auto open_streams = std::make_shared<std::atomic<int>>(0);
    for (const auto& [path, feed] : table->events) self->feeds_.push_back(feed);
    svr->Get(".*", [table, open_streams, max_streams](const httplib::Request& req,
                                                      httplib::Response& res) {
        if (auto ev = table->events.find(req.path); ev != table->events.end())
            return serve_events(ev->second, open_streams, max_streams, res);
        auto route = table->get.find(req.path);
        if (route == table->get.end()) return plain(res, 404, "not found\n");
        HttpRequest r{req.path, {}};
        for (const auto& [k, v] : req.params) r.params.try_emplace(k, v);
        HttpResponse out = route->second(r);
        res.status = out.status;
        res.set_content(std::move(out.body), out.content_type);
    });
    auto other_method = [table](const httplib::Request& req, httplib::Response& res) {
        if (!known(*table, req.path)) return plain(res, 404, "not found\n");
        res.set_header("Allow", "GET, HEAD");
        plain(res, 405, "method not allowed\n");
    };
    svr->Post(".*", other_method);
    svr->Put(".*", other_method);
    svr->Patch(".*", other_method);
    svr->Delete(".*", other_method);
    svr->Options(".*", other_method);

    const ListenAddress& a = opts.listen;
    errno = 0;
    if (a.port == 0) {
        self->port_ = svr->bind_to_any_port(a.host);
        if (self->port_ < 0) self->port_ = 0;
    } else if (svr->bind_to_port(a.host, a.port)) {
        self->port_ = a.port;
    }
    if (self->port_ == 0)
        return fail("listen on " + a.host + ":" + std::to_string(a.port) + ": " +
                    (errno ? errno_text(errno) : std::string("cannot bind")));
    httplib::Server* raw = svr.get();
    self->server_ = std::move(svr);
    self->thread_ = std::make_unique<std::thread>([raw] { raw->listen_after_bind(); });
    // stop() before the accept loop runs would be lost (the library only stops a running
    // server) and the destructor's join would hang: wait for it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!raw->is_running() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!raw->is_running()) return fail("HTTP server thread did not start");
    return self;
}

HttpServer::~HttpServer() {
    if (!server_) return;
    // Event streams wait on their feed: closing it lets their threads go, which the
    // thread pool's shutdown in stop() joins.
    for (auto& f : feeds_) f->close();
    server_->stop();
    if (thread_ && thread_->joinable()) thread_->join();
}

}  // namespace perfbpf
