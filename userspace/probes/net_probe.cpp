#include "probes/net_probe.h"

#include <bit>

#include "net.skel.h"
#include "probes/kernel_btf.h"

namespace perfbpf {
namespace {

// Per-process TCP bytes: the tracepoint where the kernel has it (6.3+), else fexit on
// TCP's own send/receive functions. fexit is tried only when the tracepoint is missing:
// some kernels (this project's 6.18 host among them) refuse trampolines.
struct ByteHook {
    const char* tracepoint;
    const char* tp_program;
    const char* fexit_program;
};
constexpr ByteHook kByteHooks[] = {
    {"sock_send_length", "on_sock_send_length", "on_tcp_sendmsg"},
    {"sock_recv_length", "on_sock_recv_length", "on_tcp_recvmsg"},
};

// Per-namespace slots per CPU (a power of two): 53 KiB per CPU. A namespace takes one of
// PERFBPF_NETNS_PROBES neighbouring slots, so about 100 active namespaces fit before some
// find none (counted as the drop "netns_slots_full"); idle ones are freed by the reader.
constexpr uint32_t kNetnsSlots = 128;

const ProbeStatus* find_status(const std::vector<ProbeStatus>& all, const std::string& probe) {
    for (const auto& s : all)
        if (s.probe == probe) return &s;
    return nullptr;
}

}  // namespace

std::unique_ptr<NetProbe> NetProbe::load(const SharedMaps& shared, const ProbeOptions&) {
    auto make = [] {
        std::unique_ptr<NetProbe> probe(new NetProbe());
        // The byte hooks differ by kernel (tracepoints added in 6.3, fexit where they are
        // missing): each may be absent without failing doctor; what is missing is said in
        // the tracepoint's status.
        // tcp_rcvbuf_grow is recent (6.18 has it, 6.1 not). sock_exceed_buf_limit only fires when
        // protocol memory (tcp_mem, udp_mem) or a cgroup's socket memory runs out, which selftest
        // cannot provoke without changing a host-wide setting; sock_rcvqueue_full only on an
        // overflowing datagram socket, which selftest provokes only where it may make a network
        // namespace of its own.
        probe->table_.set_optional({"on_sock_send_length", "on_sock_recv_length", "on_tcp_sendmsg",
                                    "on_tcp_recvmsg", "on_tcp_rcvbuf_grow",
                                    "on_sock_exceed_buf_limit", "on_sock_rcvqueue_full"});
        return probe;
    };
    auto probe =
        load_with_tp_btf_fallback(make, &NetProbe::table_, &NetProbe::load_and_attach, shared);
    if (probe->procs_.used().data()) probe->describe_byte_hooks();
    return probe;
}

void NetProbe::load_and_attach(const SharedMaps& shared) {
    const auto& btf = KernelBtf::get();
    SkeletonOps<net_bpf> ops{net_bpf__open, net_bpf__load, net_bpf__destroy};
    auto skel = open_and_load<net_bpf>(ops, shared, table_, [&](net_bpf* s) -> Result<void> {
        for (const auto& hook : kByteHooks) {
            if (!btf.has_tracepoint(hook.tracepoint)) continue;
            bpf_program* fexit = bpf_object__find_program_by_name(s->obj, hook.fexit_program);
            if (fexit) bpf_program__set_autoload(fexit, false);
        }
        s->rodata->netns_slot_mask = kNetnsSlots - 1;
        return resize_map(s->maps.netns_stats, kNetnsSlots);
    });
    if (!skel) {
        load_error_ = skel.error().message;
        return;
    }
    skel_ = std::move(*skel);
    auto mapped = table_.map_slots_then_attach(
        skel_->obj, skel_->maps.proc_stats, skel_->maps.proc_used, skel_->maps.proc_claims,
        PERFBPF_NET_PROC_SLOTS, sizeof(net_proc_slot), links_);
    if (!mapped) {
        load_error_ = mapped.error().message;
        return;
    }
    procs_ = std::move(*mapped);
}

// Says in the tracepoint's status which path counts the bytes on this kernel, or why
// per-process TCP bytes are unavailable.
void NetProbe::describe_byte_hooks() {
    for (const auto& hook : kByteHooks) {
        std::string tp_program = hook.tp_program;
        std::string tp_probe = std::string("tp_btf/") + hook.tracepoint;
        const ProbeStatus* tp = find_status(table_.status(), tp_probe);
        if (!tp) {
            // The raw_tp twin was loaded instead (PERFBPF_NO_TP_BTF, or tp_btf failed).
            std::string raw_probe = std::string("raw_tp/") + hook.tracepoint;
            if ((tp = find_status(table_.status(), raw_probe))) {
                tp_program += "_raw";
                tp_probe = raw_probe;
            }
        }
        if (tp && tp->attached) continue;
        std::string tp_reason = tp ? tp->reason : "not loaded";
        if (!KernelBtf::get().has_tracepoint(hook.tracepoint)) tp_reason += " (added in 6.3)";
        bpf_program* fexit = bpf_object__find_program_by_name(skel_->obj, hook.fexit_program);
        std::string fexit_probe = fexit ? bpf_program__section_name(fexit) : hook.fexit_program;
        const ProbeStatus* fx = find_status(table_.status(), fexit_probe);
        if (fx && fx->attached) {
            table_.record(tp_program, tp_probe, false,
                          tp_reason + "; TCP bytes counted through " + fexit_probe);
            continue;
        }
        std::string why = fx ? fx->reason : "not loaded";
        table_.record(tp_program, tp_probe, false,
                      tp_reason + ", and " + fexit_probe + " failed (" + why +
                          "): per-process TCP bytes unavailable");
    }
}

NetProbe::~NetProbe() = default;

void NetProbe::keep_one_in(uint32_t n) {
    // A power of two, so the program masks instead of dividing.
    uint32_t pow2 = n <= 1 ? 1 : std::bit_ceil(n);
    if (skel_ && skel_->bss)
        __atomic_store_n(&skel_->bss->tcp_probe_keep_mask, pow2 - 1, __ATOMIC_RELAXED);
}

int NetProbe::cpu_stats_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.cpu_stats) : -1;
}

int NetProbe::netns_stats_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.netns_stats) : -1;
}

int NetProbe::netns_drops_fd() const {
    return skel_ ? bpf_map__fd(skel_->maps.netns_drops) : -1;
}

uint32_t NetProbe::netns_slots() const {
    return kNetnsSlots;
}

bool NetProbe::attached(const std::string& probe) const {
    const ProbeStatus* st = find_status(table_.status(), probe);
    return st && st->attached;
}

}  // namespace perfbpf
