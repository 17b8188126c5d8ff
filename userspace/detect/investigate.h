// What to look at when an incident opens or an alert fires: the top consumers of the
// resource it is about, gathered from the interval at hand and the next few, so the record
// says who was doing it while it happened. Cost is bounded: each interval walks the
// snapshot's processes, cgroups and devices once, and only the leaders of each measure are
// kept between intervals.
//
//   cpu     processes and cgroups by CPU %, run-queue wait and off-CPU time
//   io      processes and cgroups by read + write bytes, processes by I/O latency p99,
//           devices by latency p99 and utilisation
//   memory  processes and cgroups by RSS and by its growth over the intervals
//   net     processes, cgroups and netns by TCP bytes and retransmits
//   other   processes by CPU % and RSS
// Pure: snapshots in, evidence out.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "detect/incidents.h"
#include "model/series.h"
#include "model/snapshot.h"

namespace perfbpf {

// One object's value for one measure, over the intervals seen.
struct EvidenceConsumer {
    Labels object;      // {pid, comm, cgroup} | {cgroup} | {device} | {netns}
    double value = 0;   // mean per interval (gauges, latencies), sum (bytes, ns), last (rss)
    int intervals = 0;  // intervals it was seen in
};

// The leaders of one measure ("process cpu_pct", "device lat_p99_us").
struct EvidenceRanking {
    std::string object;   // process | cgroup | device | netns
    std::string measure;  // a catalogue series name, or read_write_bytes, tcp_bytes
    std::string unit;     // pct, ns, bytes, us, count
    std::string how;      // mean | sum | last | max
    std::vector<EvidenceConsumer> top;
};

struct Evidence {
    Resource resource = Resource::other;
    int64_t from_ms = 0;  // the first interval gathered
    int64_t to_ms = 0;    // the last
    int intervals = 0;
    std::vector<EvidenceRanking> rankings;
};

// The resource an incident is about: its peak series' resource, the highest score first;
// other only when none of its series has one.
Resource incident_resource(const Incident& incident);

class Investigation {
  public:
    // `intervals` snapshots are gathered, each ranking keeping its `top` leaders. `exclude_pid`
    // (perfbpf itself) is never a consumer.
    Investigation(Resource resource, int intervals, size_t top = 5, int exclude_pid = 0);

    // Processes (by pid) the incident itself is about: ranked with their values even when
    // they are not among the leaders, so the evidence shows them next to who was.
    void focus(std::string pid) { focus_.push_back(std::move(pid)); }

    void add(const Snapshot& snap);
    bool done() const { return evidence_.intervals >= intervals_; }
    // The rankings so far (complete once done()).
    Evidence evidence() const;

  private:
    bool focused(const EvidenceConsumer& c) const;
    void rank(size_t measure, std::map<Labels, size_t>& index, Labels object, double value);

    int intervals_;
    size_t top_;
    int exclude_pid_;
    std::vector<std::string> focus_;
    Evidence evidence_;
    // Every measure's candidates so far; trimmed to a few times `top` after each interval.
    std::vector<std::vector<EvidenceConsumer>> candidates_;
};

}  // namespace perfbpf
