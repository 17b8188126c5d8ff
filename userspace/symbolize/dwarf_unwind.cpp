#include "symbolize/dwarf_unwind.h"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "util/fd.h"

namespace perfbpf {

namespace {

// Where `m` puts the ELF file's vaddr 0: the bias libdwfl wants for a shared object or PIE
// (an ET_EXEC ignores it). From the PT_LOAD segment holding the mapping's file offset.
std::optional<uint64_t> load_bias(const Mapping& m) {
    UniqueFd fd(::open(m.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return std::nullopt;
    Elf* elf = elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr);
    if (!elf) return std::nullopt;
    std::optional<uint64_t> bias;
    size_t n = 0;
    if (elf_getphdrnum(elf, &n) == 0) {
        for (size_t i = 0; i < n && !bias; ++i) {
            GElf_Phdr ph;
            if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
            const uint64_t page_off = ph.p_offset & ~uint64_t{0xfff};
            if (m.file_offset >= page_off && m.file_offset < ph.p_offset + ph.p_filesz)
                bias = m.start - (m.file_offset - ph.p_offset + ph.p_vaddr);
        }
    }
    elf_end(elf);
    return bias;
}

}  // namespace

SampleStack pick_sample_stack(const UnwoundStack& dwarf, std::span<const uint64_t> fp_ips,
                              uint64_t top_word) {
    SampleStack s;
    // The top word adds at most one frame to the frame-pointer walk.
    const size_t fp_reach = fp_ips.size() + (top_word ? 1 : 0);
    if (dwarf.whole || dwarf.ips.size() >= fp_reach || fp_ips.empty()) {
        s.ips = dwarf.ips;
        s.whole = dwarf.whole;
        return s;
    }
    s.ips.assign(fp_ips.begin(), fp_ips.end());
    s.caller_candidate = top_word;
    s.from_frame_pointers = true;
    return s;
}

struct DwarfUnwinder::State {
    Dwfl_Callbacks callbacks{};
    Dwfl_Thread_Callbacks thread_callbacks{};
    Dwfl* dwfl = nullptr;
    bool attached = false;
    std::set<std::string> known;  // module paths reported
    // The stack being unwound.
    int tid = 0;
    UserRegs regs;
    std::span<const uint8_t> stack;
    bool read_outside = false;  // the unwind needed memory the copy does not hold

    ~State() {
        if (dwfl) dwfl_end(dwfl);
    }

    static pid_t next_thread(Dwfl*, void* arg, void** thread_argp) {
        if (*thread_argp) return 0;
        *thread_argp = arg;
        return static_cast<State*>(arg)->tid;
    }
    static bool get_thread(Dwfl*, pid_t tid, void* arg, void** thread_argp) {
        *thread_argp = arg;
        return tid == static_cast<State*>(arg)->tid;
    }
    static bool memory_read(Dwfl*, Dwarf_Addr addr, Dwarf_Word* result, void* arg) {
        auto* s = static_cast<State*>(arg);
        if (addr < s->regs.sp || addr - s->regs.sp > s->stack.size() ||
            s->stack.size() - (addr - s->regs.sp) < sizeof(*result)) {
            s->read_outside = true;
            return false;
        }
        std::memcpy(result, s->stack.data() + (addr - s->regs.sp), sizeof(*result));
        return true;
    }
    static bool set_initial_registers(Dwfl_Thread* thread, void* arg) {
        auto* s = static_cast<State*>(arg);
        // x86-64 DWARF numbering: 6 is rbp, 7 rsp; the rest are not recorded (undefined),
        // and CFI rules of x86-64 code compute the CFA from these two.
        const Dwarf_Word regs[2] = {s->regs.bp, s->regs.sp};
        if (!dwfl_thread_state_registers(thread, 6, 2, regs)) return false;
        dwfl_thread_state_register_pc(thread, s->regs.ip);
        return true;
    }
};

DwarfUnwinder::DwarfUnwinder() : state_(std::make_unique<State>()) {
    elf_version(EV_CURRENT);
    state_->callbacks.find_elf = dwfl_build_id_find_elf;
    state_->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
    state_->callbacks.section_address = dwfl_offline_section_address;
    state_->thread_callbacks.next_thread = State::next_thread;
    state_->thread_callbacks.get_thread = State::get_thread;
    state_->thread_callbacks.memory_read = State::memory_read;
    state_->thread_callbacks.set_initial_registers = State::set_initial_registers;
    state_->dwfl = dwfl_begin(&state_->callbacks);
}

DwarfUnwinder::~DwarfUnwinder() = default;

void DwarfUnwinder::add_modules(const MappingSet& maps) {
    if (!state_->dwfl) return;
    bool began = false;
    for (const Mapping& m : maps.all()) {
        if (!m.executable || !m.is_file() || state_->known.contains(m.path)) continue;
        state_->known.insert(m.path);  // once, whether or not it can be read
        auto bias = load_bias(m);
        if (!bias) continue;
        if (!began) dwfl_report_begin_add(state_->dwfl);
        began = true;
        // A module whose range overlaps one reported earlier (a library loaded where an
        // unloaded one was) is refused: its stacks end there, not truncated silently.
        (void)dwfl_report_elf(state_->dwfl, m.path.c_str(), m.path.c_str(), -1, *bias, false);
    }
    if (began) dwfl_report_end(state_->dwfl, nullptr, nullptr);
}

UnwoundStack DwarfUnwinder::unwind(int tid, const UserRegs& regs, std::span<const uint8_t> stack,
                                   size_t max_depth) {
    UnwoundStack out;
    State& s = *state_;
    if (!s.dwfl || max_depth == 0) return out;
    if (!s.attached) {
        // The architecture comes from the modules reported so far (none: try later).
        if (!dwfl_attach_state(s.dwfl, nullptr, tid > 0 ? tid : 1, &s.thread_callbacks, &s)) {
            out.ips.push_back(regs.ip);
            return out;
        }
        s.attached = true;
    }
    s.tid = tid > 0 ? tid : 1;
    s.regs = regs;
    s.stack = stack;
    s.read_outside = false;
    struct Walk {
        UnwoundStack* out;
        size_t max_depth;
    } walk{&out, max_depth};
    const int rc = dwfl_getthread_frames(
        s.dwfl, s.tid,
        [](Dwfl_Frame* frame, void* arg) -> int {
            auto* w = static_cast<Walk*>(arg);
            Dwarf_Addr pc = 0;
            if (!dwfl_frame_pc(frame, &pc, nullptr) || pc == 0) return DWARF_CB_ABORT;
            w->out->ips.push_back(pc);
            return w->out->ips.size() >= w->max_depth ? DWARF_CB_ABORT : DWARF_CB_OK;
        },
        &walk);
    // 0: the CFI marked the return address undefined (the thread's first frame). A read
    // outside the copy ends the walk without an error code from libdwfl: not whole.
    out.whole = rc == 0 && !s.read_outside && !out.ips.empty();
    if (out.ips.empty()) out.ips.push_back(regs.ip);
    return out;
}

}  // namespace perfbpf
