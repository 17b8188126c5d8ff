#include "symbolize/elf_function.h"

#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fd.h"

namespace perfbpf {
namespace {

struct ElfHandle {
    Elf* elf = nullptr;
    ~ElfHandle() {
        if (elf) elf_end(elf);
    }
};

}  // namespace

Result<ElfFunction> find_elf_function(const std::string& path, const std::string& name) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + path, errno);
    elf_version(EV_CURRENT);
    ElfHandle h;
    h.elf = elf_begin(fd.get(), ELF_C_READ, nullptr);
    if (!h.elf || elf_kind(h.elf) != ELF_K_ELF) return fail(path + ": not an ELF file");

    ElfFunction fn;
    bool found = false;
    for (Elf64_Word want : {SHT_DYNSYM, SHT_SYMTAB}) {
        Elf_Scn* scn = nullptr;
        while (!found && (scn = elf_nextscn(h.elf, scn))) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || sh.sh_type != want || !sh.sh_entsize) continue;
            Elf_Data* data = elf_getdata(scn, nullptr);
            if (!data) continue;
            size_t n = sh.sh_size / sh.sh_entsize;
            for (size_t i = 0; i < n; ++i) {
                GElf_Sym sym;
                if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
                if (GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
                    GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC)
                    continue;
                if (sym.st_shndx == SHN_UNDEF || !sym.st_value) continue;
                const char* s = elf_strptr(h.elf, sh.sh_link, sym.st_name);
                if (!s) continue;
                // Versioned names in .symtab look like "malloc@@GLIBC_2.2.5".
                std::string_view sv(s);
                if (sv != name &&
                    !(sv.starts_with(name) && sv.size() > name.size() && sv[name.size()] == '@'))
                    continue;
                fn.vaddr = sym.st_value;
                fn.size = sym.st_size;
                found = true;
                break;
            }
        }
        if (found) break;
    }
    if (!found) return fail(path + ": no function '" + name + "'");

    // The function's first bytes, from the section that holds it.
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(h.elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS) continue;
        if (fn.vaddr < sh.sh_addr || fn.vaddr >= sh.sh_addr + sh.sh_size) continue;
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (!data || !data->d_buf) break;
        size_t off = fn.vaddr - sh.sh_addr;
        size_t len = std::min<size_t>(64, data->d_size - off);
        if (fn.size) len = std::min<size_t>(len, fn.size);
        const auto* p = static_cast<const uint8_t*>(data->d_buf) + off;
        fn.code.assign(p, p + len);
        break;
    }
    return fn;
}

namespace {

// What the kernel emulates at a probe (arch/x86/kernel/uprobes.c): nops, push reg,
// jmp/call rel, jcc. Returns the name, or "" for anything else.
std::string emulated_kind(std::span<const uint8_t> c) {
    if (c.empty()) return {};
    uint8_t b = c[0];
    if (b == 0x90) return "nop";
    if (b == 0x0f && c.size() > 1 && c[1] == 0x1f) return "nop";
    if (b == 0x66 && c.size() > 2 && c[1] == 0x0f && c[2] == 0x1f) return "nop";
    if (b >= 0x50 && b <= 0x57) return "push";
    if (b == 0x41 && c.size() > 1 && c[1] >= 0x50 && c[1] <= 0x57) return "push";
    if (b == 0xe8) return "call";
    if (b == 0xe9 || b == 0xeb) return "jmp";
    return {};
}

}  // namespace

ProbeSite choose_probe_site(std::span<const uint8_t> code) {
    ProbeSite site;
    size_t pc = 0;
    bool after_rdi_test = false;
    while (pc < code.size() && pc < 32) {
        auto c = code.subspan(pc);
        if (auto kind = emulated_kind(c); !kind.empty()) {
            site.offset = pc;
            site.emulated = true;
            site.insn = kind;
            return site;
        }
        // Instructions that may be stepped over: they read, compare and branch only.
        if (c.size() >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa) {
            pc += 4;  // endbr64
            after_rdi_test = false;
            continue;
        }
        if (c.size() >= 3 && c[0] == 0x48 && c[1] == 0x85 && (c[2] & 0xc0) == 0xc0) {
            after_rdi_test = c[2] == 0xff;  // test %rdi,%rdi
            pc += 3;
            continue;
        }
        if (c.size() >= 7 && c[0] == 0x80 && c[1] == 0x3d) {
            pc += 7;  // cmpb $imm8, disp32(%rip)
            after_rdi_test = false;
            continue;
        }
        if (after_rdi_test && c.size() >= 2 && c[0] >= 0x70 && c[0] <= 0x7f) {
            pc += 2;  // jcc rel8: the NULL-pointer early return
            after_rdi_test = false;
            continue;
        }
        if (after_rdi_test && c.size() >= 6 && c[0] == 0x0f && c[1] >= 0x80 && c[1] <= 0x8f) {
            pc += 6;  // jcc rel32
            after_rdi_test = false;
            continue;
        }
        break;
    }
    site.offset = 0;
    site.emulated = false;
    site.insn = code.empty() ? "" : emulated_kind(code).empty() ? "other" : emulated_kind(code);
    site.emulated = !emulated_kind(code).empty();
    return site;
}

}  // namespace perfbpf
