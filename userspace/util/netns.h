// Work inside another network namespace without moving the caller: setns() changes only
// the calling thread's namespace, so a thread of its own joins, does the work and ends.
// What that thread creates there (a netlink socket, a /proc/thread-self/net read) stays
// bound to the namespace after the thread ends.
#pragma once

#include <functional>
#include <string>

#include "util/result.h"

namespace perfbpf {

// Runs `fn` on a new thread that joined the network namespace at `netns_path` (a name under
// /run/netns, or /proc/PID/ns/net); fails, without running `fn`, when it cannot join.
Result<void> run_in_netns(const std::string& netns_path, const std::function<void()>& fn);

}  // namespace perfbpf
