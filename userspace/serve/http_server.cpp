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

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& opts,
                                                      Render render) {
    std::unique_ptr<HttpServer> self(new HttpServer());
    auto svr = std::make_unique<httplib::Server>();
    const int threads = opts.threads;
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
    svr->Get("/metrics",
             [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
                 res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
             });
    svr->Get(".*", [](const httplib::Request&, httplib::Response& res) {
        plain(res, 404, "not found; try /metrics\n");
    });
    auto other_method = [](const httplib::Request& req, httplib::Response& res) {
        if (req.path != "/metrics") return plain(res, 404, "not found; try /metrics\n");
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
    server_->stop();
    if (thread_ && thread_->joinable()) thread_->join();
}

}  // namespace perfbpf
