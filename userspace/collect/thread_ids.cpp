#include "collect/thread_ids.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>
#include <string_view>

namespace perfbpf {

Result<std::vector<int>> thread_ids(const std::string& proc_root, int pid) {
    const std::string dir = proc_root + "/" + std::to_string(pid) + "/task";
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return fail_errno("threads of pid " + std::to_string(pid) + ": " + dir, errno);
    std::vector<int> tids;
    while (const dirent* e = ::readdir(d.get())) {
        int tid = 0;
        std::string_view name = e->d_name;
        auto r = std::from_chars(name.data(), name.data() + name.size(), tid);
        if (r.ec == std::errc{} && r.ptr == name.data() + name.size()) tids.push_back(tid);
    }
    std::ranges::sort(tids);
    return tids;
}

}  // namespace perfbpf
