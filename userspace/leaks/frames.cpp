#include "leaks/frames.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "perfbpf/leaks.h"
#include "util/fd.h"

namespace perfbpf {

bool is_stack_root(const std::string& function) {
    static const char* const roots[] = {
        "_start",  "__libc_start_main", "__libc_start_call_main", "start_thread", "clone", "clone3",
        "__clone", "__clone3",          "__GI___clone3",          "thread_start"};
    for (const char* r : roots)
        if (function == r) return true;
    return false;
}

bool user_stack_truncated(const LeakStack& s,
                          const std::function<uint64_t(const std::string&)>& entry_of) {
    if (s.ips.empty() || s.frames.empty()) return true;
    if (s.whole) return false;
    if (s.ips.size() >= LEAKS_MAX_DEPTH) return true;
    const LeakFrame& last = s.frames.back();
    if (is_stack_root(last.function)) return false;
    const uint64_t entry = last.module.empty() ? 0 : entry_of(last.module);
    return !(entry && last.offset >= entry && last.offset - entry < kEntryFunctionSpan);
}

uint64_t elf_entry(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    Elf64_Ehdr h;
    if (!fd.valid() || ::pread(fd.get(), &h, sizeof(h), 0) != static_cast<ssize_t>(sizeof(h)) ||
        std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0 || h.e_ident[EI_CLASS] != ELFCLASS64)
        return 0;
    return h.e_entry;
}

bool follows_call(const MappingSet& maps, uint64_t addr) {
    const Mapping* m = maps.find(addr);
    if (!m || !m->executable || !m->is_file() || addr - m->start < 6) return false;
    UniqueFd fd(::open(m->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return false;
    uint8_t b[6];
    off_t off = static_cast<off_t>(addr - m->start + m->file_offset - 6);
    if (::pread(fd.get(), b, sizeof(b), off) != static_cast<ssize_t>(sizeof(b))) return false;
    // call rel32 (e8); call *disp32(%rip) (ff 15); call *%reg (ff d0-d7); call *d8(%reg)
    // (ff 50-57 d8); call *d32(%reg) (ff 90-97 d32)
    return b[1] == 0xe8 || (b[0] == 0xff && b[1] == 0x15) ||
           (b[4] == 0xff && b[5] >= 0xd0 && b[5] <= 0xd7) ||
           (b[3] == 0xff && b[4] >= 0x50 && b[4] <= 0x57) ||
           (b[0] == 0xff && b[1] >= 0x90 && b[1] <= 0x97);
}

namespace {

bool is_shim_module(const std::string& module) {
    auto slash = module.rfind('/');
    std::string_view base = slash == std::string::npos ? std::string_view(module)
                                                       : std::string_view(module).substr(slash + 1);
    return base.starts_with("libperfbpf_shim");
}

}  // namespace

void symbolize_report(LeakReport& report, const MappingSet& maps, Symbolizer& symbolizer,
                      const KernelSymbols* kernel) {
    std::map<std::string, uint64_t> entries;
    auto entry_of = [&](const std::string& module) {
        auto [it, fresh] = entries.try_emplace(module, 0);
        if (fresh) it->second = elf_entry(module);
        return it->second;
    };
    // Symbolizes user addresses into s.frames: a growth/exact stack, or a kernel stack's
    // user part (its own caller candidate and whole flag).
    auto user_frames = [&](LeakStack& s, std::vector<uint64_t>& ips, uint64_t caller_candidate,
                           bool ip0_exact) {
        if (caller_candidate && !ips.empty() && (ips.size() < 2 || ips[1] != caller_candidate) &&
            follows_call(maps, caller_candidate))
            ips.insert(ips.begin() + 1, caller_candidate);
        for (size_t i = 0; i < ips.size(); ++i) {
            for (const auto& f : symbolizer.user(ips[i], maps, !(i == 0 && ip0_exact))) {
                // The shim's own frames, and the kernel's uretprobe trampoline page that
                // stands in for a return address while a return probe is pending.
                if (is_shim_module(f.module) || f.module == "[uprobes]") continue;
                s.frames.push_back(
                    LeakFrame{f.function, f.file, f.line, f.module, f.offset, f.inlined, false});
            }
        }
    };
    for (auto& s : report.stacks) {
        s.frames.clear();
        if (!s.kernel) {
            user_frames(s, s.ips, s.caller_candidate, s.ip0_exact);
            s.truncated = user_stack_truncated(s, entry_of);
            continue;
        }
        if (kernel)
            for (uint64_t ip : s.ips) {
                SymbolFrame f = kernel->lookup(ip);
                s.frames.push_back(
                    LeakFrame{f.function, f.file, f.line, f.module, f.offset, f.inlined, true});
            }
        // The tracer's own frames: the BPF program and the tracepoint glue.
        size_t skip = 0;
        for (size_t i = 0; i < s.frames.size() && i < 4; ++i) {
            const std::string& fn = s.frames[i].function;
            if (fn.starts_with("bpf_prog_") || fn.starts_with("bpf_trace_run") ||
                fn.starts_with("__bpf_trace_") || fn.starts_with("__traceiter_"))
                skip = i + 1;
        }
        s.frames.erase(s.frames.begin(), s.frames.begin() + static_cast<long>(skip));
        s.truncated = s.ips.size() >= LEAKS_MAX_DEPTH;
        if (s.user_ips.empty()) continue;
        // The user part, judged as a user stack of its own: the registers at the kernel
        // entry are the instruction after the system call or the faulting one.
        LeakStack user;
        user_frames(user, s.user_ips, s.user_caller_candidate, true);
        user.ips = s.user_ips;
        user.whole = s.user_whole;
        s.truncated = s.truncated || user_stack_truncated(user, entry_of);
        s.frames.insert(s.frames.end(), user.frames.begin(), user.frames.end());
    }
    finish_report(report);
}

}  // namespace perfbpf
