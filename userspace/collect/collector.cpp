#include "collect/collector.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>

#include "collect/cgroup_source.h"
#include "collect/drops_reader.h"
#include "collect/filesystem_source.h"
#include "collect/netns_source.h"
#include "collect/parse/events.h"
#include "collect/system_source.h"
#include "util/privileges.h"

namespace perfbpf {

uint64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

Result<std::unique_ptr<Collector>> Collector::create(const CollectorOptions& opts) {
    Privileges priv = current_privileges();
    if (!priv.enough()) return fail(priv.missing_message(opts.command));

    std::unique_ptr<Collector> c(new Collector(opts));
    c->page_bytes_ = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    auto shared = SharedMaps::create();
    if (!shared) return std::unexpected(shared.error());
    c->shared_ = std::make_unique<SharedMaps>(std::move(*shared));

    c->families_ = load_probe_families(*c->shared_, c->opts_.probes, opts.families);
    bool sched_active = false, mem_active = false, rcvbuf_grow = false;
    for (auto& f : c->families_) {
        for (const auto& st : f.probe->status()) {
            c->status_.push_back(st);
            rcvbuf_grow |= st.probe == "raw_tp/tcp_rcvbuf_grow" && st.attached;
        }
        if (f.probe->name() == "sched" && f.probe->active()) sched_active = true;
        if (f.probe->name() == "mem" && f.probe->active()) mem_active = true;
        if (f.reader) c->sources_.push_back(std::move(f.reader));
    }
    auto ring = EventRing::open(c->shared_->events_fd());
    if (!ring) return std::unexpected(ring.error());
    c->ring_ = std::make_unique<EventRing>(std::move(*ring));

    c->sources_.push_back(std::make_unique<DropsReader>(c->shared_->drops_fd()));
    // An active family is the only source of its metric; /proc stands in for the others
    // (the rule is spelled out in proc_source.h).
    auto proc = std::make_unique<ProcSource>(opts.proc_root, !sched_active, !mem_active);
    c->proc_ = proc.get();
    c->sources_.push_back(std::move(proc));
    auto system = std::make_unique<SystemSource>(opts.proc_root);
    c->status_.push_back(ProbeStatus{
        "procfs", "/proc/pressure", system->psi_available(), false,
        system->psi_available() ? "" : "no /proc/pressure (kernel without CONFIG_PSI or psi=0)"});
    c->sources_.push_back(std::move(system));
    c->sources_.push_back(std::make_unique<FilesystemSource>(opts.proc_root));
    // Both need every process's namespace and cgroup: after the procfs source.
    c->sources_.push_back(
        std::make_unique<NetnsSource>(opts.proc_root, opts.run_netns_dir, rcvbuf_grow));
    c->sources_.push_back(
        std::make_unique<CgroupSource>(CgroupSource::mounted_roots(opts.proc_root)));
    c->schedule_retries(monotonic_ns());

    // The first read only sets the baselines the first interval is measured against.
    CollectContext ctx;
    ctx.now_ns = monotonic_ns();
    c->build(ctx, {});
    c->last_end_ns_ = ctx.now_ns;
    return c;
}

std::map<std::string, std::map<std::string, uint64_t>> Collector::run_counts() const {
    std::map<std::string, std::map<std::string, uint64_t>> out;
    for (const auto& f : families_) out[std::string(f.probe->name())] = f.probe->run_counts();
    return out;
}

namespace {
constexpr uint64_t kFirstRetryNs = 10'000'000'000ULL;
constexpr uint64_t kMaxRetryNs = 600'000'000'000ULL;
// Events come in batches at most this often (next()).
constexpr uint64_t kBatchNs = 50'000'000ULL;
}  // namespace

void Collector::schedule_retries(uint64_t now_ns) {
    for (const auto& f : families_) {
        const std::string name(f.probe->name());
        if (f.probe->active() || retries_.contains(name)) continue;
        retries_[name] = Retry{now_ns + kFirstRetryNs, kFirstRetryNs};
    }
}

void Collector::keep_one_in(uint32_t n) {
    keep_one_in_ = n;
    for (auto& f : families_) f.probe->keep_one_in(n);
}

std::vector<std::string> Collector::retry_unavailable(uint64_t now_ns) {
    std::vector<std::string> loaded;
    for (auto& f : families_) {
        const std::string name(f.probe->name());
        auto it = retries_.find(name);
        if (f.probe->active() || it == retries_.end() || now_ns < it->second.next_ns) continue;
        LoadedFamily fresh = load_probe_family(name, *shared_, opts_.probes);
        if (!fresh.probe->active()) {
            it->second.backoff_ns = std::min(it->second.backoff_ns * 2, kMaxRetryNs);
            it->second.next_ns = now_ns + it->second.backoff_ns;
            continue;
        }
        // The reader's first read only sets its baseline, as at start.
        CollectContext ctx;
        ctx.now_ns = now_ns;
        SnapshotBuilder scratch(ctx);
        fresh.reader->collect(scratch);
        sources_.insert(sources_.begin(), std::move(fresh.reader));
        f.probe = std::move(fresh.probe);
        f.probe->keep_one_in(keep_one_in_);
        retries_.erase(it);
        loaded.push_back(name);
        std::erase_if(status_, [&](const ProbeStatus& s) { return s.family == name; });
        for (const auto& st : f.probe->status()) status_.push_back(st);
    }
    if (!loaded.empty()) {
        bool sched = false, mem = false;
        for (const auto& f : families_) {
            sched |= f.probe->name() == "sched" && f.probe->active();
            mem |= f.probe->name() == "mem" && f.probe->active();
        }
        proc_->set_fills(!sched, !mem);
    }
    return loaded;
}

std::map<std::string, uint64_t> Collector::pending_retries(uint64_t now_ns) const {
    std::map<std::string, uint64_t> out;
    for (const auto& [name, r] : retries_) out[name] = r.next_ns > now_ns ? r.next_ns - now_ns : 0;
    return out;
}

uint64_t Collector::bpf_run_time_ns() const {
    uint64_t total = 0;
    for (const auto& f : families_) total += f.probe->run_time_ns();
    return total;
}

bool Collector::handle_events(CollectContext& ctx, std::vector<OomKill>& ooms) {
    IntervalEvents events;
    const std::vector<perfbpf_event> drained = ring_->drain();
    for (const perfbpf_event& e : drained) apply_event(e, page_bytes_, ctx, events);
    for (const ExecEvent& x : events.execs) proc_->remember(x.tgid, x.comm);
    for (OomKill& o : events.oom_kills) ooms.push_back(std::move(o));
    return !drained.empty();
}

Snapshot Collector::build(CollectContext& ctx, std::vector<OomKill> ooms) {
    SnapshotBuilder builder(ctx);
    for (auto& src : sources_) src->collect(builder);
    for (auto& o : ooms) builder.add_oom_kill(std::move(o));
    for (const auto& [tgid, info] : ctx.exited) {
        if (!builder.has_process(tgid)) continue;  // exited before doing anything we track
        ProcessSample& p = builder.process(tgid);
        p.exited = true;
        p.exit_code = info.exit_code;
        if (p.comm.empty()) p.comm = info.comm;
    }
    builder.add_probe_statuses(status_);
    Snapshot snap = builder.take();
    snap.end_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    finalize_snapshot(snap);
    apply_filter(snap, opts_.filter);
    return snap;
}

Snapshot Collector::next(const std::atomic<bool>* stop) {
    CollectContext ctx;
    std::vector<OomKill> ooms;
    const uint64_t end = last_end_ns_ + opts_.interval_ns;
    for (;;) {
        const bool any = handle_events(ctx, ooms);
        const uint64_t now = monotonic_ns();
        if (now >= end || (stop && stop->load())) break;
        const uint64_t left = end - now;
        if (any) {
            // A burst (a build's execs and exits) is drained in batches, 50 ms apart.
            std::this_thread::sleep_for(std::chrono::nanoseconds(std::min(left, kBatchNs)));
        } else {
            // The ring wakes us at its next event, so an exec is handled (its cgroup and
            // namespace read) while the process still exists in /proc. Each wake-up costs
            // ≈65 µs of CPU on this VM: at 1 s, waking every 50 ms was 13 % of the daemon's
            // own CPU (docs/daemon_cost.md).
            ring_->wait(std::min(left, opts_.stop_poll_ns));
        }
    }
    ctx.now_ns = monotonic_ns();
    ctx.interval_ns = ctx.now_ns - last_end_ns_;
    handle_events(ctx, ooms);
    last_end_ns_ = ctx.now_ns;
    return build(ctx, std::move(ooms));
}

}  // namespace perfbpf
