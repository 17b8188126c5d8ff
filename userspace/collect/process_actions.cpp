#include "collect/process_actions.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>

namespace perfbpf {

namespace {

std::string who(const TopAction& a) {
    return std::to_string(a.pid) + " " + a.comm;
}

std::string signal_name(int sig) {
    return sig == SIGTERM ? "SIGTERM" : "signal " + std::to_string(sig);
}

std::string renice(const TopAction& a) {
    errno = 0;
    int now = ::getpriority(PRIO_PROCESS, static_cast<id_t>(a.pid));
    if (now == -1 && errno != 0) return "renice " + who(a) + ": " + std::strerror(errno);
    int to = std::clamp(now + a.value, -20, 19);
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(a.pid), to) != 0)
        return "renice " + who(a) + " to " + std::to_string(to) + ": " + std::strerror(errno);
    return "reniced " + who(a) + " from " + std::to_string(now) + " to " + std::to_string(to);
}

}  // namespace

std::string read_cmdline(int pid, const std::string& proc_root) {
    std::ifstream in(proc_root + "/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && s.back() == '\0') s.pop_back();
    std::replace(s.begin(), s.end(), '\0', ' ');
    return s;
}

std::string carry_out_top_action(const TopAction& a, const std::string& proc_root) {
    switch (a.kind) {
        case TopAction::Kind::none:
        case TopAction::Kind::threads:  // TuiOptions::threads reads them
            return "";
        case TopAction::Kind::describe:
            return read_cmdline(a.pid, proc_root);
        case TopAction::Kind::signal:
            if (::kill(a.pid, a.value) != 0)
                return signal_name(a.value) + " to " + who(a) + ": " + std::strerror(errno);
            return "sent " + signal_name(a.value) + " to " + who(a);
        case TopAction::Kind::renice:
            return renice(a);
    }
    return "";
}

}  // namespace perfbpf
