#include "collect/parse/vmstat_deltas.h"

#include <algorithm>
#include <array>

namespace perfbpf {
namespace {

// One counter per memory zone type: allocstall_dma, _dma32, _normal, _movable.
constexpr std::string_view kAllocstall = "allocstall_";

constexpr std::array<std::string_view, 10> kKeys{"pgfault",
                                                 "pgmajfault",
                                                 "pswpin",
                                                 "pswpout",
                                                 "pgscan_kswapd",
                                                 "pgscan_direct",
                                                 "pgsteal_kswapd",
                                                 "pgsteal_direct",
                                                 "workingset_refault_anon",
                                                 "workingset_refault_file"};

uint64_t value(const std::map<std::string, uint64_t>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? 0 : it->second;
}

}  // namespace

bool vmstat_key_applied(std::string_view key) {
    return key.starts_with(kAllocstall) || std::ranges::find(kKeys, key) != kKeys.end();
}

void apply_vmstat(const std::map<std::string, uint64_t>& now,
                  const std::map<std::string, uint64_t>& before, SystemSample& sys) {
    auto d = [&](const std::string& key) {
        const uint64_t a = value(now, key), b = value(before, key);
        return a >= b ? a - b : 0;
    };
    const uint64_t faults = d("pgfault");
    sys.major_faults = d("pgmajfault");
    sys.minor_faults = faults >= sys.major_faults ? faults - sys.major_faults : 0;
    sys.pages_swapped_in = d("pswpin");
    sys.pages_swapped_out = d("pswpout");
    sys.pgscan_kswapd = d("pgscan_kswapd");
    sys.pgscan_direct = d("pgscan_direct");
    sys.pgsteal_kswapd = d("pgsteal_kswapd");
    sys.pgsteal_direct = d("pgsteal_direct");
    sys.workingset_refault_anon = d("workingset_refault_anon");
    sys.workingset_refault_file = d("workingset_refault_file");
    for (const auto& [key, n] : now)
        if (key.starts_with(kAllocstall)) sys.allocstall += d(key);
}

}  // namespace perfbpf
