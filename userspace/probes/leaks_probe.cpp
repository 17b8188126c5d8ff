#include "probes/leaks_probe.h"

#include <algorithm>

#include "leaks.skel.h"
#include "perfbpf/leaks.h"
#include "symbolize/elf_function.h"

namespace perfbpf {

Result<std::unique_ptr<LeaksProbe>> LeaksProbe::load(const SharedMaps& shared,
                                                     const LeaksProbeOptions& opts) {
    std::unique_ptr<LeaksProbe> probe(new LeaksProbe());
    probe->opts_ = opts;
    SkeletonOps<leaks_bpf> ops{leaks_bpf__open, leaks_bpf__load, leaks_bpf__destroy};
    auto skel =
        open_and_load<leaks_bpf>(ops, shared, probe->table_, [&](leaks_bpf* s) -> Result<void> {
            s->rodata->target_tgid = static_cast<__u32>(opts.tgid);
            s->rodata->max_stacks = opts.max_stacks;
            for (bpf_map* m : {s->maps.stack_stats, s->maps.stacks, s->maps.stack_by_hash,
                               s->maps.stack_claims}) {
                if (auto r = resize_map(m, opts.max_stacks); !r) return r;
            }
            // The first entries preallocated (fast), the rest of the budget allocated as
            // needed (bpf/leaks.bpf.c).
            const uint32_t first = std::clamp(opts.live_prealloc, 1u, opts.max_live);
            if (auto r = resize_map(s->maps.live, first); !r) return r;
            s->rodata->use_live_more = opts.max_live > first;
            if (auto r = resize_map(s->maps.live_more, std::max(opts.max_live - first, 1u)); !r)
                return r;
            // Load only the programs of the chosen producer: fewer to verify at start-up.
            bpf_program* prog;
            bpf_object__for_each_program(prog, s->obj) {
                bool is_shim = prog == s->progs.on_shim_batch;
                bpf_program__set_autoload(prog, is_shim == opts.shim);
            }
            return {};
        });
    if (!skel) return std::unexpected(skel.error());
    probe->skel_ = std::move(*skel);
    // A program the verifier rejected was dropped so the rest could load; here every
    // program of the producer is needed.
    bpf_program* prog;
    bpf_object__for_each_program(prog, probe->skel_->obj) {
        if (!bpf_program__autoload(prog) || bpf_program__fd(prog) >= 0) continue;
        std::string why = "not loaded";
        for (const auto& st : probe->table_.status())
            if (st.probe == bpf_program__section_name(prog) && !st.reason.empty()) why = st.reason;
        return fail(std::string("load leaks probe ") + bpf_program__name(prog) + ": " + why);
    }
    return probe;
}

LeaksProbe::~LeaksProbe() = default;

Result<void> LeaksProbe::attach_shim(const std::string& shim_path, int pid) {
    LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = LEAKS_HOOK_SYMBOL);
    bpf_link* link =
        bpf_program__attach_uprobe_opts(skel_->progs.on_shim_batch, pid, shim_path.c_str(), 0, &uo);
    if (!link) return fail_errno("attach uprobe " + shim_path + ":" + LEAKS_HOOK_SYMBOL, errno);
    links_.emplace_back(link);
    return {};
}

Result<void> LeaksProbe::attach_allocator(const std::string& lib, int pid) {
    struct Spec {
        const char* function;
        bpf_program* entry;
        bpf_program* ret;  // null: no return probe
        bool required;
    };
    const Spec specs[] = {
        {"malloc", skel_->progs.malloc_entry, skel_->progs.malloc_return, true},
        {"free", skel_->progs.free_entry, nullptr, true},
        {"calloc", skel_->progs.calloc_entry, skel_->progs.calloc_return, false},
        {"realloc", skel_->progs.realloc_entry, skel_->progs.realloc_return, false},
        {"posix_memalign", skel_->progs.posix_memalign_entry, skel_->progs.posix_memalign_return,
         false},
        {"aligned_alloc", skel_->progs.memalign_entry, skel_->progs.memalign_return, false},
        {"memalign", skel_->progs.memalign_entry, skel_->progs.memalign_return, false},
        {"valloc", skel_->progs.valloc_entry, skel_->progs.valloc_return, false},
        {"pvalloc", skel_->progs.valloc_entry, skel_->progs.valloc_return, false},
        {"mmap", skel_->progs.mmap_entry, skel_->progs.mmap_return, false},
        {"munmap", skel_->progs.free_entry, nullptr, false},
    };
    std::vector<uint64_t> placed;  // aliases (memalign == aligned_alloc) are probed once
    for (const auto& spec : specs) {
        AllocatorProbe p;
        p.function = spec.function;
        auto fn = find_elf_function(lib, spec.function);
        if (!fn) {
            if (!spec.required) continue;
            if (fn.error().message.find("no function") == std::string::npos)
                return fail(fn.error().message);  // unreadable file: say so
            return fail(lib + " has no allocator symbols (" + spec.function +
                        " not found): use --allocator-lib with the library or binary that "
                        "defines malloc and free");
        }
        bool alias = false;
        for (uint64_t v : placed) alias |= v == fn->vaddr;
        if (alias) continue;
        placed.push_back(fn->vaddr);
        ProbeSite site = choose_probe_site(fn->code);
        p.offset = site.offset;
        p.emulated = site.emulated;
        LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = spec.function);
        bpf_link* link =
            bpf_program__attach_uprobe_opts(spec.entry, pid, lib.c_str(), site.offset, &uo);
        if (!link) {
            p.reason = "attach uprobe " + lib + ":" + spec.function + ": " + errno_text(errno);
            probes_.push_back(p);
            if (spec.required) return fail(p.reason);
            continue;
        }
        links_.emplace_back(link);
        if (spec.ret) {
            // At the same instruction as the entry probe: no push has happened yet, so
            // the return address is where the return probe expects it, and both share
            // one trap.
            LIBBPF_OPTS(bpf_uprobe_opts, ro, .retprobe = true, .func_name = spec.function);
            bpf_link* rl =
                bpf_program__attach_uprobe_opts(spec.ret, pid, lib.c_str(), site.offset, &ro);
            if (!rl) {
                p.reason =
                    "attach uretprobe " + lib + ":" + spec.function + ": " + errno_text(errno);
                probes_.push_back(p);
                if (spec.required) return fail(p.reason);
                continue;
            }
            links_.emplace_back(rl);
        }
        p.attached = true;
        probes_.push_back(p);
    }
    return {};
}

std::array<int, 2> LeaksProbe::live_fds() const {
    return {bpf_map__fd(skel_->maps.live), bpf_map__fd(skel_->maps.live_more)};
}
int LeaksProbe::stack_stats_fd() const {
    return bpf_map__fd(skel_->maps.stack_stats);
}
int LeaksProbe::stacks_fd() const {
    return bpf_map__fd(skel_->maps.stacks);
}
int LeaksProbe::counters_fd() const {
    return bpf_map__fd(skel_->maps.leak_counters);
}
uint32_t LeaksProbe::stack_base() const {
    return skel_->bss->stack_base;
}
uint32_t LeaksProbe::stack_top() const {
    return skel_->bss->stack_top;
}
uint32_t LeaksProbe::images() const {
    return skel_->bss->images;
}
uint64_t LeaksProbe::sample_mean_bytes() const {
    return skel_->bss->sample_mean_bytes;
}

}  // namespace perfbpf
