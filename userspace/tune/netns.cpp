// Work inside another network namespace without moving the caller: setns() changes only
// the calling thread's namespace, so a thread of its own joins, does the work and ends.
#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <thread>

#include "tune/knobs.h"
#include "util/fd.h"

namespace perfbpf::tune {

Result<std::string> in_netns(const std::string& netns_path,
                             const std::function<Result<std::string>()>& fn) {
    Result<std::string> out = fail("network namespace " + netns_path + ": not run");
    std::thread worker([&] {
        UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns.valid()) {
            out = fail_errno("open network namespace " + netns_path, errno);
            return;
        }
        if (::setns(ns.get(), CLONE_NEWNET) != 0) {
            out = fail_errno("join network namespace " + netns_path, errno);
            return;
        }
        out = fn();
    });
    worker.join();
    return out;
}

}  // namespace perfbpf::tune
