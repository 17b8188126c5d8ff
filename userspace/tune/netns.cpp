#include "util/netns.h"
#include "tune/knobs.h"

namespace perfbpf::tune {

Result<std::string> in_netns(const std::string& netns_path,
                             const std::function<Result<std::string>()>& fn) {
    Result<std::string> out = fail("network namespace " + netns_path + ": not run");
    auto joined = run_in_netns(netns_path, [&] { out = fn(); });
    if (!joined) return std::unexpected(joined.error());
    return out;
}

}  // namespace perfbpf::tune
