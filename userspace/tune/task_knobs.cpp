#include "tune/task_knobs.h"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <filesystem>

#include "tune/knob.h"
#include "util/files.h"

namespace perfbpf::tune {
namespace {

// Fields of PROC/PID/stat after the command name, which may itself hold spaces and ')'.
Result<std::vector<std::string>> stat_fields(const std::string& proc, int pid) {
    const std::string path = proc + "/" + std::to_string(pid) + "/stat";
    auto text = read_file(path);
    if (!text)
        return fail("process " + std::to_string(pid) + " is gone (" + text.error().message + ")");
    auto close = text->rfind(')');
    if (close == std::string::npos) return fail(path + ": unexpected format");
    std::vector<std::string> out;
    for (auto f : split_fields(std::string_view(*text).substr(close + 1))) out.emplace_back(f);
    return out;
}

// Every thread of the process; errors name the thread that failed. A thread that exits
// meanwhile (ESRCH) is skipped.
template <class Fn>
Result<void> each_thread(const std::string& proc, int pid, Fn fn) {
    std::error_code ec;
    const std::string dir = proc + "/" + std::to_string(pid) + "/task";
    size_t done = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        auto tid = parse_u64(e.path().filename().string());
        if (!tid) continue;
        if (fn(static_cast<pid_t>(*tid)) != 0) {
            if (errno == ESRCH) continue;
            return fail_errno(
                "thread " + std::to_string(*tid) + " of process " + std::to_string(pid), errno);
        }
        ++done;
    }
    if (ec)
        return fail("process " + std::to_string(pid) + " is gone (" + dir + ": " + ec.message() +
                    ")");
    if (done == 0) return fail("process " + std::to_string(pid) + " has no threads left");
    return {};
}

}  // namespace

Result<int> read_nice(const std::string& proc, int pid) {
    auto f = stat_fields(proc, pid);
    if (!f) return std::unexpected(f.error());
    if (f->size() < 17) return fail("process " + std::to_string(pid) + ": short stat line");
    return std::stoi((*f)[16]);  // field 19
}

Result<void> write_nice(const std::string& proc, int pid, int nice) {
    return each_thread(proc, pid,
                       [&](pid_t tid) { return ::setpriority(PRIO_PROCESS, tid, nice); });
}

Result<std::set<int>> read_affinity(const std::string& proc, int pid) {
    const std::string path = proc + "/" + std::to_string(pid) + "/status";
    auto text = read_file(path);
    if (!text)
        return fail("process " + std::to_string(pid) + " is gone (" + text.error().message + ")");
    for (auto line : split_fields(*text, "\n"))
        if (line.starts_with("Cpus_allowed_list:")) return parse_cpu_list(line.substr(18));
    return fail(path + ": no Cpus_allowed_list");
}

Result<void> write_affinity(const std::string& proc, int pid, const std::set<int>& cpus) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus)
        if (c < CPU_SETSIZE) CPU_SET(c, &set);
    return each_thread(proc, pid,
                       [&](pid_t tid) { return ::sched_setaffinity(tid, sizeof(set), &set); });
}

Result<std::string> process_start_time(const std::string& proc, int pid) {
    auto f = stat_fields(proc, pid);
    if (!f) return std::unexpected(f.error());
    if (f->size() < 20) return fail("process " + std::to_string(pid) + ": short stat line");
    return "start " + (*f)[19];  // field 22
}

}  // namespace perfbpf::tune
