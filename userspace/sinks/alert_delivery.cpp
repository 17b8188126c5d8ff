// The two ways a notification leaves the machine: an HTTP POST (cpp-httplib's Client, kept
// to this file: the header is heavy) and a program run with the alert in its environment.
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "sinks/alert_receivers.h"
#include "sinks/http_url.h"

extern char** environ;

namespace perfbpf {

AlertSender::Deliver http_post_json(const std::string& url) {
    HttpUrl u = split_http_url(url);
    return [origin = std::move(u.origin), path = std::move(u.path),
            url](const std::string& body) -> Result<void> {
        httplib::Client cli(origin);
        cli.set_connection_timeout(2, 0);
        cli.set_read_timeout(5, 0);
        cli.set_write_timeout(5, 0);
        auto res = cli.Post(path.c_str(), body, "application/json");
        if (!res) return fail("POST " + url + ": " + httplib::to_string(res.error()));
        if (res->status < 200 || res->status >= 300)
            return fail("POST " + url + ": HTTP " + std::to_string(res->status) + " " +
                        res->body.substr(0, 200));
        return {};
    };
}

AlertSender::Deliver run_program(const std::string& path) {
    return [path](const std::string& env_block) -> Result<void> {
        std::vector<std::string> vars;
        for (size_t i = 0; i < env_block.size();) {
            size_t end = env_block.find('\0', i);
            if (end == std::string::npos) end = env_block.size();
            vars.push_back(env_block.substr(i, end - i));
            i = end + 1;
        }
        for (char** e = environ; e && *e; ++e) vars.emplace_back(*e);
        std::vector<char*> envp;
        for (auto& v : vars) envp.push_back(v.data());
        envp.push_back(nullptr);
        std::string arg0 = path;
        char* argv[] = {arg0.data(), nullptr};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        pid_t pid = 0;
        const int err = ::posix_spawn(&pid, path.c_str(), &fa, nullptr, argv, envp.data());
        posix_spawn_file_actions_destroy(&fa);
        if (err != 0) return fail_errno("exec " + path, err);
        // A hook that hangs must not stop the others: 10 s, then it is killed.
        int status = 0;
        for (int waited_ms = 0;; waited_ms += 20) {
            pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid) break;
            if (r < 0 && errno != EINTR) return fail_errno("exec " + path + ": waitpid", errno);
            if (waited_ms >= 10'000) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, &status, 0);
                return fail("exec " + path + ": killed after 10 s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return fail("exec " + path + ": " +
                        (WIFEXITED(status)
                             ? "exit status " + std::to_string(WEXITSTATUS(status))
                             : "killed by signal " + std::to_string(WTERMSIG(status))));
        return {};
    };
}

}  // namespace perfbpf
