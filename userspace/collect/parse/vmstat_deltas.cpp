#include "collect/parse/vmstat_deltas.h"

#include <algorithm>

#include "collect/parse/counter_field.h"

namespace perfbpf {
namespace {

// One counter per memory zone type: allocstall_dma, _dma32, _normal, _movable.
constexpr std::string_view kAllocstall = "allocstall_";
// All faults, major ones included: minor_faults is the difference.
constexpr std::string_view kFaults = "pgfault";

constexpr CounterField<SystemSample> kFields[] = {
    {"pgmajfault", &SystemSample::major_faults},
    {"pswpin", &SystemSample::pages_swapped_in},
    {"pswpout", &SystemSample::pages_swapped_out},
    {"pgscan_kswapd", &SystemSample::pgscan_kswapd},
    {"pgscan_direct", &SystemSample::pgscan_direct},
    {"pgsteal_kswapd", &SystemSample::pgsteal_kswapd},
    {"pgsteal_direct", &SystemSample::pgsteal_direct},
    {"workingset_refault_anon", &SystemSample::workingset_refault_anon},
    {"workingset_refault_file", &SystemSample::workingset_refault_file},
};

uint64_t value(const std::map<std::string, uint64_t>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? 0 : it->second;
}

}  // namespace

bool vmstat_key_applied(std::string_view key) {
    return key == kFaults || key.starts_with(kAllocstall) ||
           std::ranges::any_of(kFields, [&](const auto& f) { return f.key == key; });
}

void apply_vmstat(const std::map<std::string, uint64_t>& now,
                  const std::map<std::string, uint64_t>& before, SystemSample& sys) {
    auto d = [&](std::string_view key) {
        const std::string k(key);
        const uint64_t a = value(now, k), b = value(before, k);
        return a >= b ? a - b : 0;
    };
    for (const auto& f : kFields) sys.*f.field = d(f.key);
    const uint64_t faults = d(kFaults);
    sys.minor_faults = faults >= sys.major_faults ? faults - sys.major_faults : 0;
    for (const auto& [key, n] : now)
        if (key.starts_with(kAllocstall)) sys.allocstall += d(key);
}

}  // namespace perfbpf
