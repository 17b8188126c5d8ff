#include "util/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <thread>

#include "util/fd.h"

namespace perfbpf {

Result<void> run_in_netns(const std::string& netns_path, const std::function<void()>& fn) {
    Result<void> out;
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
        fn();
    });
    worker.join();
    return out;
}

}  // namespace perfbpf
