// Test helper shared by unit and kernel tests: the JUMP_SLOT/GLOB_DAT relocations of an
// ELF file by symbol (offsets in the file's address space), read from its section headers
// with libelf: an answer independent of the shim's scan of the dynamic section.
#pragma once

#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace perfbpf::test {

inline std::map<std::string, std::set<uint64_t>> relocs_from_sections(const std::string& path) {
    std::map<std::string, std::set<uint64_t>> out;
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return out;
    elf_version(EV_CURRENT);
    Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
    Elf_Scn* scn = nullptr;
    while (elf && (scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh, symsh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize) continue;
        Elf_Scn* symscn = elf_getscn(elf, sh.sh_link);
        if (!symscn || !gelf_getshdr(symscn, &symsh)) continue;
        Elf_Data* syms = elf_getdata(symscn, nullptr);
        Elf_Data* data = elf_getdata(scn, nullptr);
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
            GElf_Rela r;
            GElf_Sym sym;
            if (!gelf_getrela(data, static_cast<int>(i), &r)) continue;
            unsigned type = GELF_R_TYPE(r.r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
            if (!gelf_getsym(syms, static_cast<int>(GELF_R_SYM(r.r_info)), &sym)) continue;
            out[elf_strptr(elf, symsh.sh_link, sym.st_name)].insert(r.r_offset);
        }
    }
    if (elf) elf_end(elf);
    ::close(fd);
    return out;
}

}  // namespace perfbpf::test
