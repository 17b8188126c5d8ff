#include "tune/scope.h"

#include <algorithm>

namespace perfbpf::tune {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// A cgroup filter names a subtree: "/a" allows "/a" and "/a/b", not "/ab".
bool in_subtree(const std::string& path, const std::string& root) {
    std::string r = root.size() > 1 && root.back() == '/' ? root.substr(0, root.size() - 1) : root;
    if (r == "/" || path == r) return true;
    return path.size() > r.size() && path.compare(0, r.size(), r) == 0 && path[r.size()] == '/';
}

}  // namespace

std::string to_string(const Scope& s) {
    if (s.kind == ScopeKind::host) return "host";
    return std::string(scope_kind_name(s.kind)) + ":" + s.name;
}

bool ScopeFilter::allows(const Scope& s) const {
    if (empty()) return true;
    switch (s.kind) {
        case ScopeKind::host:
            return false;
        case ScopeKind::netns:
            return contains(netns, s.name);
        case ScopeKind::device:
            return contains(devices, s.name);
        case ScopeKind::pid:
            return contains(pids, s.name);
        case ScopeKind::cgroup:
            return std::any_of(cgroups.begin(), cgroups.end(),
                               [&](const std::string& c) { return in_subtree(s.name, c); });
    }
    return false;
}

}  // namespace perfbpf::tune
