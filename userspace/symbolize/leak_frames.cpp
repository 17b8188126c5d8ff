#include "symbolize/leak_frames.h"

#include "perfbpf/leaks.h"

namespace perfbpf {

bool is_stack_root(const std::string& function) {
    static const char* const roots[] = {
        "_start",  "__libc_start_main", "__libc_start_call_main", "start_thread", "clone", "clone3",
        "__clone", "__clone3",          "__GI___clone3",          "thread_start"};
    for (const char* r : roots)
        if (function == r) return true;
    return false;
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
    for (auto& s : report.stacks) {
        s.frames.clear();
        for (size_t i = 0; i < s.ips.size(); ++i) {
            const bool return_address = !(i == 0 && s.ip0_exact);
            std::vector<SymbolFrame> frames;
            if (s.kernel) {
                if (kernel) frames.push_back(kernel->lookup(s.ips[i]));
            } else {
                frames = symbolizer.user(s.ips[i], maps, return_address);
            }
            for (const auto& f : frames) {
                // The shim's own frames, and the kernel's uretprobe trampoline page that
                // stands in for a return address while a return probe is pending.
                if (is_shim_module(f.module) || f.module == "[uprobes]") continue;
                s.frames.push_back(
                    LeakFrame{f.function, f.file, f.line, f.module, f.offset, f.inlined});
            }
        }
        if (s.kernel)
            s.truncated = s.ips.size() >= LEAKS_MAX_DEPTH;
        else
            s.truncated = s.ips.empty() || (s.ips.size() >= LEAKS_MAX_DEPTH || s.frames.empty() ||
                                            !is_stack_root(s.frames.back().function));
    }
    finish_report(report);
}

}  // namespace perfbpf
