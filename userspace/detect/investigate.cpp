#include "detect/investigate.h"

#include <algorithm>
#include <map>
#include <string_view>

namespace perfbpf {
namespace {

enum class How : uint8_t { mean, sum, last, max };

std::string_view how_name(How h) {
    switch (h) {
        case How::mean:
            return "mean";
        case How::sum:
            return "sum";
        case How::last:
            return "last";
        case How::max:
            return "max";
    }
    return "?";
}

// A measure of one kind of object; exactly one of the value functions is set.
struct Spec {
    std::string_view object, measure, unit;
    How how;
    double (*process)(const ProcessSample&) = nullptr;
    double (*cgroup)(const CgroupSample&) = nullptr;
    double (*device)(const DeviceSample&) = nullptr;
    double (*netns)(const NetnsSample&) = nullptr;
};

double d(uint64_t v) {
    return static_cast<double>(v);
}

const Spec kProcCpu{"process", "cpu_pct", "pct", How::mean,
                    [](const ProcessSample& p) { return p.cpu_pct; }};
const Spec kProcRunq{"process", "runq_wait_ns", "ns", How::sum,
                     [](const ProcessSample& p) { return d(p.runq_wait_ns); }};
const Spec kProcOffcpu{"process", "offcpu_ns", "ns", How::sum,
                       [](const ProcessSample& p) { return d(p.offcpu_ns); }};
const Spec kCgCpu{"cgroup",  "cpu_pct", "pct",
                  How::mean, nullptr,   [](const CgroupSample& c) { return c.cpu_pct; }};
const Spec kCgRunq{"cgroup", "runq_wait_ns",
                   "ns",     How::sum,
                   nullptr,  [](const CgroupSample& c) { return d(c.runq_wait_ns); }};
const Spec kProcIo{"process", "read_write_bytes", "bytes", How::sum,
                   [](const ProcessSample& p) { return d(p.read_bytes + p.write_bytes); }};
const Spec kProcIoLat{"process", "io_lat_p99_us", "us", How::max,
                      [](const ProcessSample& p) { return p.io_lat_p99_us; }};
const Spec kCgIo{"cgroup", "read_write_bytes",
                 "bytes",  How::sum,
                 nullptr,  [](const CgroupSample& c) { return d(c.read_bytes + c.write_bytes); }};
const Spec kDevLat{
    "device", "lat_p99_us", "us", How::max, nullptr, nullptr, [](const DeviceSample& v) {
        return v.lat_p99_us;
    }};
const Spec kDevUtil{
    "device", "util_pct", "pct", How::mean, nullptr, nullptr, [](const DeviceSample& v) {
        return v.util_pct;
    }};
const Spec kProcRss{"process", "rss_bytes", "bytes", How::last,
                    [](const ProcessSample& p) { return d(p.rss_bytes); }};
const Spec kProcGrowth{
    "process", "rss_growth_bytes", "bytes", How::sum,
    [](const ProcessSample& p) { return static_cast<double>(p.rss_growth_bytes); }};
const Spec kCgRss{"cgroup",  "rss_bytes", "bytes",
                  How::last, nullptr,     [](const CgroupSample& c) { return d(c.rss_bytes); }};
const Spec kCgGrowth{
    "cgroup", "rss_growth_bytes",
    "bytes",  How::sum,
    nullptr,  [](const CgroupSample& c) { return static_cast<double>(c.rss_growth_bytes); }};
const Spec kProcTcp{"process", "tcp_bytes", "bytes", How::sum,
                    [](const ProcessSample& p) { return d(p.tcp_tx_bytes + p.tcp_rx_bytes); }};
const Spec kProcRetrans{"process", "tcp_retransmits", "count", How::sum,
                        [](const ProcessSample& p) { return d(p.tcp_retransmits); }};
const Spec kCgTcp{
    "cgroup", "tcp_bytes",
    "bytes",  How::sum,
    nullptr,  [](const CgroupSample& c) { return d(c.tcp_tx_bytes + c.tcp_rx_bytes); }};
const Spec kNsRetrans{
    "netns", "tcp_retransmits", "count", How::sum,
    nullptr, nullptr,           nullptr, [](const NetnsSample& n) { return d(n.tcp_retransmits); }};

std::vector<const Spec*> specs_for(Resource r) {
    switch (r) {
        case Resource::cpu:
            return {&kProcCpu, &kProcRunq, &kProcOffcpu, &kCgCpu, &kCgRunq};
        case Resource::io:
            return {&kProcIo, &kProcIoLat, &kCgIo, &kDevLat, &kDevUtil};
        case Resource::memory:
            return {&kProcRss, &kProcGrowth, &kCgRss, &kCgGrowth};
        case Resource::net:
            return {&kProcTcp, &kProcRetrans, &kCgTcp, &kNsRetrans};
        case Resource::other:
            return {&kProcCpu, &kProcRss};
    }
    return {};
}

Labels process_labels(const ProcessSample& p) {
    return {{"cgroup", p.cgroup}, {"comm", p.comm}, {"pid", std::to_string(p.pid)}};
}

std::string netns_name(const NetnsSample& n) {
    return n.name.empty() ? std::to_string(n.inode) : n.name;
}

}  // namespace

Resource incident_resource(const Incident& incident) {
    const IncidentSeries* best = nullptr;
    for (const IncidentSeries& s : incident.series)
        if (resource_of(s.key) != Resource::other && (!best || s.peak.score > best->peak.score))
            best = &s;
    return best ? resource_of(best->key) : Resource::other;
}

Investigation::Investigation(Resource resource, int intervals, size_t top, int exclude_pid)
    : intervals_(intervals), top_(top), exclude_pid_(exclude_pid) {
    evidence_.resource = resource;
    for (const Spec* s : specs_for(resource)) {
        EvidenceRanking r;
        r.object = s->object;
        r.measure = s->measure;
        r.unit = s->unit;
        r.how = how_name(s->how);
        evidence_.rankings.push_back(std::move(r));
    }
    candidates_.resize(evidence_.rankings.size());
}

void Investigation::rank(size_t measure, std::map<Labels, size_t>& index, Labels object,
                         double value) {
    std::vector<EvidenceConsumer>& c = candidates_[measure];
    auto [at, fresh] = index.try_emplace(std::move(object), c.size());
    if (fresh) {
        if (value == 0) {
            index.erase(at);
            return;
        }
        c.push_back({at->first, 0, 0});
    }
    EvidenceConsumer* it = &c[at->second];
    const How how = specs_for(evidence_.resource)[measure]->how;
    switch (how) {
        case How::mean:
        case How::sum:
            it->value += value;
            break;
        case How::last:
            it->value = value;
            break;
        case How::max:
            it->value = std::max(it->value, value);
            break;
    }
    ++it->intervals;
}

void Investigation::add(const Snapshot& snap) {
    if (done()) return;
    if (evidence_.intervals == 0) evidence_.from_ms = snap.end_unix_ms;
    evidence_.to_ms = snap.end_unix_ms;
    ++evidence_.intervals;
    const std::vector<const Spec*> specs = specs_for(evidence_.resource);
    for (size_t m = 0; m < specs.size(); ++m) {
        const Spec& s = *specs[m];
        std::map<Labels, size_t> index;
        for (size_t i = 0; i < candidates_[m].size(); ++i)
            index.emplace(candidates_[m][i].object, i);
        if (s.process)
            for (const ProcessSample& p : snap.processes)
                if (p.pid != exclude_pid_) rank(m, index, process_labels(p), s.process(p));
        if (s.cgroup)
            for (const CgroupSample& c : snap.cgroups)
                rank(m, index, {{"cgroup", c.path}}, s.cgroup(c));
        if (s.device)
            for (const DeviceSample& v : snap.devices)
                rank(m, index, {{"device", v.name}}, s.device(v));
        if (s.netns)
            for (const NetnsSample& n : snap.netns)
                rank(m, index, {{"netns", netns_name(n)}}, s.netns(n));
        // Keep the leaders and a margin: one that falls behind for an interval may lead
        // again, one that never led in a trimmed interval is not what the incident is.
        std::vector<EvidenceConsumer>& c = candidates_[m];
        std::ranges::sort(c, std::greater<>{}, &EvidenceConsumer::value);
        if (c.size() > top_ * 4)
            c.erase(std::remove_if(c.begin() + static_cast<std::ptrdiff_t>(top_ * 4), c.end(),
                                   [&](const EvidenceConsumer& x) { return !focused(x); }),
                    c.end());
    }
}

bool Investigation::focused(const EvidenceConsumer& c) const {
    for (const auto& [k, v] : c.object)
        if (k == "pid") return std::ranges::find(focus_, v) != focus_.end();
    return false;
}

Evidence Investigation::evidence() const {
    Evidence e = evidence_;
    const std::vector<const Spec*> specs = specs_for(e.resource);
    for (size_t m = 0; m < e.rankings.size(); ++m) {
        std::vector<EvidenceConsumer> top = candidates_[m];
        if (specs[m]->how == How::mean && e.intervals > 0)
            for (EvidenceConsumer& c : top) c.value /= e.intervals;
        std::erase_if(top, [](const EvidenceConsumer& c) { return c.value <= 0; });
        std::ranges::sort(top, std::greater<>{}, &EvidenceConsumer::value);
        if (top.size() > top_)
            top.erase(std::remove_if(top.begin() + static_cast<std::ptrdiff_t>(top_), top.end(),
                                     [&](const EvidenceConsumer& x) { return !focused(x); }),
                      top.end());
        e.rankings[m].top = std::move(top);
    }
    return e;
}

}  // namespace perfbpf
