// Growth mode's reader: every interval the process's RSS (procfs), and the stack samples
// bpf/leaks_growth.bpf.c took since (one per `sample_bytes` of growth on average), each
// unwound from its copy of the user stack with the modules' DWARF CFI and added to the
// bytes of its call path; faults on file-backed pages (the maps tell) are left out. At the
// end, the series of the process and of each path (the session classifies their trends).
#pragma once

#include <bpf/libbpf.h>

#include <map>
#include <memory>
#include <span>
#include <string>

#include "model/leaks.h"
#include "perfbpf/leaks_growth.h"
#include "symbolize/dwarf_unwind.h"
#include "symbolize/recent_mappings.h"

namespace perfbpf {

class LeaksGrowthProbe;

struct RssSample {
    uint64_t rss_bytes = 0;
    uint64_t anon_bytes = 0;
};

// Parses VmRSS and RssAnon from the text of /proc/PID/status.
RssSample parse_status_rss(std::string_view status_text);

class LeaksGrowthReader {
  public:
    LeaksGrowthReader(const LeaksGrowthProbe& probe, int pid, uint64_t start_ns,
                      std::string proc_root = "/proc");
    ~LeaksGrowthReader();

    // `maps`: the process's mappings, to unwind the samples taken since the last call.
    void sample(uint64_t now_ns, const MappingSet& maps);
    LeakReport report(uint64_t now_ns);

  private:
    struct Site {
        SampleStack stack;
        double fault_bytes = 0;  // sums of sample weights
        double heap_bytes = 0;
        uint64_t fault_samples = 0, heap_samples = 0;
        std::vector<TrendPoint> series;
    };
    static int on_sample(void* ctx, void* data, size_t size);
    void add(const growth_sample& s, std::span<const uint8_t> stack);

    const LeaksGrowthProbe& probe_;
    int pid_;
    uint64_t start_ns_;
    std::string proc_root_;
    std::vector<TrendPoint> rss_, anon_;
    std::map<std::pair<std::vector<uint64_t>, uint64_t>, Site> sites_;
    DwarfUnwinder unwinder_;
    ring_buffer* rb_ = nullptr;
    const MappingSet* maps_ = nullptr;  // during sample(): to tell anonymous faults
    RecentMappings recent_;             // the target's mmaps since the trace began
    double anon_fault_weight_ = 0, file_fault_weight_ = 0;
    uint64_t malformed_ = 0, fp_fallbacks_ = 0, whole_unwinds_ = 0;
};

}  // namespace perfbpf
