#include "symbolize/symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "symbolize/inline_chain.h"
#include "util/files.h"

namespace perfbpf {

std::string demangle(const std::string& name) {
    if (!name.starts_with("_Z")) return name;
    int status = 0;
    char* out = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
    if (status != 0 || !out) return name;
    std::string s(out);
    std::free(out);
    return s;
}

namespace {

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

struct Symbolizer::Module {
    std::string path;
    Dwfl* dwfl = nullptr;
    Dwfl_Module* mod = nullptr;
    bool readable = false;
    struct Load {
        uint64_t offset, vaddr, filesz;
    };
    std::vector<Load> loads;  // PT_LOAD segments
    InlineChains inlines;
    std::map<uint64_t, std::vector<SymbolFrame>> cache;

    ~Module() {
        if (dwfl) dwfl_end(dwfl);
    }
};

Symbolizer::Symbolizer() = default;
Symbolizer::~Symbolizer() = default;

Symbolizer::Module* Symbolizer::module(const std::string& path) {
    auto& slot = modules_[path];
    if (slot) return slot.get();
    slot = std::make_unique<Module>();
    Module* m = slot.get();
    m->path = path;

    // Program headers, for the load bias of each mapping.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return m;
    elf_version(EV_CURRENT);
    if (Elf* elf = elf_begin(fd, ELF_C_READ, nullptr)) {
        size_t n = 0;
        if (elf_getphdrnum(elf, &n) == 0) {
            for (size_t i = 0; i < n; ++i) {
                GElf_Phdr ph;
                if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD)
                    m->loads.push_back({ph.p_offset, ph.p_vaddr, ph.p_filesz});
            }
        }
        elf_end(elf);
    }
    ::close(fd);

    static char* debuginfo_path = nullptr;
    static const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = &debuginfo_path,
    };
    m->dwfl = dwfl_begin(&callbacks);
    if (!m->dwfl) return m;
    dwfl_report_begin(m->dwfl);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        // Bias 0: module addresses are the file's own vaddrs.
        // libdwfl owns fd from here on.
        m->mod = dwfl_report_elf(m->dwfl, basename_of(path).c_str(), path.c_str(), fd, 0, true);
        if (!m->mod) ::close(fd);
    }
    dwfl_report_end(m->dwfl, nullptr, nullptr);
    m->readable = m->mod != nullptr;
    return m;
}

std::optional<uint64_t> Symbolizer::file_vaddr(const Mapping& map, uint64_t addr) {
    Module* m = module(map.path);
    uint64_t off = addr - map.start + map.file_offset;
    for (const auto& l : m->loads) {
        if (off >= l.offset && off < l.offset + std::max<uint64_t>(l.filesz, 1))
            return off - l.offset + l.vaddr;
    }
    return std::nullopt;
}

std::vector<SymbolFrame> Symbolizer::file(const std::string& path, uint64_t vaddr,
                                          bool return_address) {
    Module* m = module(path);
    uint64_t key = vaddr * 2 + (return_address ? 1 : 0);
    if (auto it = m->cache.find(key); it != m->cache.end()) return it->second;

    std::vector<SymbolFrame> out;
    const uint64_t pc = return_address && vaddr > 0 ? vaddr - 1 : vaddr;
    SymbolFrame base;
    base.module = path;
    base.offset = vaddr;
    if (!m->readable) {
        base.function = basename_of(path) + "+" + hex(vaddr);
        out.push_back(base);
        m->cache[key] = out;
        return out;
    }
    GElf_Sym sym;
    GElf_Off sym_off = 0;
    const char* sym_name =
        dwfl_module_addrinfo(m->mod, pc, &sym_off, &sym, nullptr, nullptr, nullptr);
    std::string outer_name = sym_name ? demangle(sym_name) : std::string();

    // file:line of the innermost code at pc
    std::string src_file;
    int src_line = 0;
    if (Dwfl_Line* line = dwfl_module_getsrc(m->mod, pc)) {
        int lineno = 0;
        if (const char* f = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
            src_file = f;
            src_line = lineno;
        }
    }

    // Inlined frames, innermost first; each outer one at the call site of the inline
    // inside it.
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_module_addrdie(m->mod, pc, &bias);
    Dwarf_Attribute comp_dir_attr;
    std::string file = src_file;
    int line = src_line;
    bool emitted_subprogram = false;
    // A file name relative to the compiler's directory (as ccache or a build system's
    // relative paths leave it) is joined to DW_AT_comp_dir, as addr2line prints it.
    const char* comp_dir =
        cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &comp_dir_attr)) : nullptr;
    auto full_path = [&](const std::string& name) {
        // A relative comp_dir (Debian's -fdebug-prefix-map leaves "./libio") adds nothing.
        if (name.empty() || name.front() == '/' || !comp_dir || comp_dir[0] != '/') return name;
        return std::string(comp_dir) + "/" + name;
    };
    for (auto& scope : cu ? m->inlines.at(cu, pc - bias) : std::vector<InlineScope>{}) {
        SymbolFrame f = base;
        f.function = scope.function.empty() && !scope.inlined ? outer_name : scope.function;
        f.file = full_path(file);
        f.line = line;
        f.known = true;
        f.inlined = scope.inlined;
        out.push_back(std::move(f));
        file = scope.call_file;
        line = scope.call_line;
        emitted_subprogram = !scope.inlined;
    }
    if (!emitted_subprogram) {
        SymbolFrame f = base;
        f.function = outer_name.empty() ? basename_of(path) + "+" + hex(vaddr) : outer_name;
        f.known = !outer_name.empty();
        f.file = full_path(file);
        f.line = line;
        out.push_back(f);
    }
    m->cache[key] = out;
    return out;
}

std::vector<SymbolFrame> Symbolizer::user(uint64_t addr, const MappingSet& maps,
                                          bool return_address) {
    const Mapping* map = maps.find(addr);
    if (!map || !map->is_file()) {
        SymbolFrame f;
        f.module = map ? map->path : "";
        f.offset = addr;
        f.function = (map && !map->path.empty() ? map->path + "+" : std::string()) + hex(addr);
        return {f};
    }
    auto vaddr = file_vaddr(*map, addr);
    if (!vaddr) {
        SymbolFrame f;
        f.module = map->path;
        f.offset = addr - map->start + map->file_offset;
        f.function = basename_of(map->path) + "+" + hex(f.offset);
        return {f};
    }
    return file(map->path, *vaddr, return_address);
}

KernelSymbols KernelSymbols::parse(std::string_view text) {
    KernelSymbols k;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        auto f = split_fields(line, " \t");
        if (f.size() < 3) continue;
        char type = f[1].empty() ? '?' : f[1][0];
        if (type != 't' && type != 'T' && type != 'W' && type != 'w') continue;
        uint64_t addr = 0;
        if (std::sscanf(std::string(f[0]).c_str(), "%llx",
                        reinterpret_cast<unsigned long long*>(&addr)) != 1 ||
            addr == 0)
            continue;
        Sym s{addr, std::string(f[2]), {}};
        if (f.size() >= 4) {
            std::string_view mod = f[3];
            if (mod.size() >= 2 && mod.front() == '[' && mod.back() == ']')
                mod = mod.substr(1, mod.size() - 2);
            s.module = std::string(mod);
        }
        k.syms_.push_back(std::move(s));
    }
    std::sort(k.syms_.begin(), k.syms_.end(),
              [](const Sym& a, const Sym& b) { return a.addr < b.addr; });
    return k;
}

KernelSymbols KernelSymbols::load(const std::string& path) {
    auto text = read_file(path);
    return text ? parse(*text) : KernelSymbols{};
}

SymbolFrame KernelSymbols::lookup(uint64_t addr) const {
    SymbolFrame f;
    f.module = "[kernel]";
    f.offset = addr;
    auto it = std::upper_bound(syms_.begin(), syms_.end(), addr,
                               [](uint64_t a, const Sym& s) { return a < s.addr; });
    if (it == syms_.begin()) {
        f.function = hex(addr);
        return f;
    }
    --it;
    f.function = it->name;
    f.known = true;
    if (!it->module.empty()) f.module = it->module;
    return f;
}

}  // namespace perfbpf
