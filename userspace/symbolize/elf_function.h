// Finding a function in an ELF file and choosing where on it a uprobe costs least.
// On x86 the kernel emulates push, nop, jmp and call at a probe (≈0.5 µs per hit) but
// single-steps anything else (≈11-16 µs, docs/measured.md); glibc's free starts with `test`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace perfbpf {

struct ElfFunction {
    uint64_t vaddr = 0;
    uint64_t size = 0;
    std::vector<uint8_t> code;  // the first bytes of the function (up to 64)
};

// Looks `name` up in .dynsym, then .symtab. An error names the file and the symbol.
Result<ElfFunction> find_elf_function(const std::string& path, const std::string& name);

struct ProbeSite {
    uint64_t offset = 0;    // from the function's start
    bool emulated = false;  // the instruction there is one the kernel emulates
    std::string insn;       // what is there: "push", "nop", "jmp", "call", "other"
};

// The first instruction at or after the entry that the kernel emulates, reached without
// touching the argument registers or the stack, so the probe still sees the arguments
// and the return address: it may skip endbr64, `test reg,reg`, `cmp $imm,mem(%rip)` and
// a conditional jump right after `test %rdi,%rdi` (a NULL-pointer early return, which
// allocates or frees nothing). Offset 0, not emulated, when there is none.
ProbeSite choose_probe_site(std::span<const uint8_t> code);

}  // namespace perfbpf
