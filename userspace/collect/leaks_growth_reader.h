// Growth mode's reader: every interval the process's RSS (procfs) and the cumulative
// memory each user stack faulted in or added to the heap (bpf/leaks_growth.bpf.c); at the
// end, trends for the process and each stack.
#pragma once

#include <map>
#include <string>

#include "model/leaks.h"
#include "perfbpf/leaks_growth.h"

namespace perfbpf {

class LeaksGrowthProbe;

struct RssSample {
    uint64_t rss_bytes = 0;
    uint64_t anon_bytes = 0;
};

// Parses VmRSS and RssAnon from the text of /proc/PID/status.
RssSample parse_status_rss(std::string_view status_text);

// Pure: the process verdict from its RSS series (bytes at each interval, in time order).
TrendVerdict classify_rss(const std::vector<TrendPoint>& rss, double duration_s);

class LeaksGrowthReader {
  public:
    LeaksGrowthReader(const LeaksGrowthProbe& probe, int pid, uint64_t start_ns,
                      std::string proc_root = "/proc")
        : probe_(probe), pid_(pid), start_ns_(start_ns), proc_root_(std::move(proc_root)) {}

    void sample(uint64_t now_ns);
    LeakReport report(uint64_t now_ns);

  private:
    struct KeyLess {
        bool operator()(const growth_key& a, const growth_key& b) const {
            return a.stack_id != b.stack_id ? a.stack_id < b.stack_id : a.top_word < b.top_word;
        }
    };
    const LeaksGrowthProbe& probe_;
    int pid_;
    uint64_t start_ns_;
    std::string proc_root_;
    std::vector<TrendPoint> rss_, anon_;
    std::map<growth_key, std::vector<TrendPoint>, KeyLess> series_;
    std::map<growth_key, growth_value, KeyLess> last_;
};

}  // namespace perfbpf
