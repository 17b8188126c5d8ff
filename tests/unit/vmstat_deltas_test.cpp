// collect/parse/vmstat_deltas: the system sample's amounts from two reads of /proc/vmstat,
// and the keys the daemon parses of it each interval.
#include "collect/parse/vmstat_deltas.h"

#include <gtest/gtest.h>

#include <string>

#include "collect/parse/procfs.h"

namespace perfbpf {
namespace {

// A vmstat text whose every counter is `base` plus the square of its line number (so the
// growths between two bases are equal, and the counters differ).
std::string vmstat_text(uint64_t base) {
    const char* keys[] = {"nr_free_pages",
                          "pgfault",
                          "pgmajfault",
                          "pswpin",
                          "pswpout",
                          "pgscan_kswapd",
                          "pgscan_direct",
                          "pgsteal_kswapd",
                          "pgsteal_direct",
                          "workingset_refault_anon",
                          "workingset_refault_file",
                          "allocstall_dma32",
                          "allocstall_normal",
                          "pgpgin",
                          "thp_fault_alloc"};
    std::string out;
    uint64_t n = 0;
    for (const char* k : keys) {
        ++n;
        out += std::string(k) + " " + std::to_string(base + n * n) + "\n";
    }
    return out;
}

TEST(Vmstat, AmountsAreGrowthsBetweenReads) {
    SystemSample s;
    apply_vmstat(parse_vmstat(vmstat_text(1000)), parse_vmstat(vmstat_text(100)), s);
    EXPECT_EQ(s.major_faults, 900u);
    EXPECT_EQ(s.minor_faults, 0u);  // pgfault counts the major ones too
    EXPECT_EQ(s.allocstall, 1800u);
    // A counter that went back (a reset) gives no amount, not a wrapped one.
    SystemSample back;
    apply_vmstat(parse_vmstat(vmstat_text(100)), parse_vmstat(vmstat_text(1000)), back);
    EXPECT_EQ(back.pgscan_kswapd, 0u);
}

// The daemon parses only the keys apply_vmstat reads: the result is the whole file's.
TEST(Vmstat, TheKeysParsedAreTheOnesApplied) {
    const std::string before = vmstat_text(0), now = vmstat_text(5000);
    SystemSample full, only;
    apply_vmstat(parse_vmstat(now), parse_vmstat(before), full);
    apply_vmstat(parse_vmstat(now, vmstat_key_applied), parse_vmstat(before, vmstat_key_applied),
                 only);
    EXPECT_FALSE(parse_vmstat(now, vmstat_key_applied).contains("nr_free_pages"));
    for (uint64_t SystemSample::*f :
         {&SystemSample::major_faults, &SystemSample::pages_swapped_in,
          &SystemSample::pages_swapped_out, &SystemSample::pgscan_kswapd,
          &SystemSample::pgscan_direct, &SystemSample::pgsteal_kswapd,
          &SystemSample::pgsteal_direct, &SystemSample::workingset_refault_anon,
          &SystemSample::workingset_refault_file, &SystemSample::allocstall}) {
        EXPECT_GT(full.*f, 0u);
        EXPECT_EQ(only.*f, full.*f);
    }
    EXPECT_EQ(only.minor_faults, full.minor_faults);
}

}  // namespace
}  // namespace perfbpf
