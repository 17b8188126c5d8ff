/* The relocations of a loaded module that bind allocator functions: the slots
 * libperfbpf_shim.so rewrites when it is injected into a running process (see
 * leaks_patch.c). Pure reading of memory, no libc state: unit-tested on fixture ELF files.
 * x86-64 ELF64 only. */
#ifndef PERFBPF_LEAKS_RELOCS_H
#define PERFBPF_LEAKS_RELOCS_H

#include <elf.h>
#include <link.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called for each R_X86_64_JUMP_SLOT and R_X86_64_GLOB_DAT relocation: `slot` is the
 * run-time address of the 8-byte entry, `name` its symbol. A non-zero return stops the
 * scan. */
typedef int (*leaks_reloc_fn)(void *ctx, uintptr_t slot, const char *name, unsigned int type);

/* Scans the relocation tables named by the dynamic section `dyn` of a module loaded with
 * bias `bias`. The dynamic linker rewrites the table addresses in a module's dynamic
 * section to run-time addresses; a dynamic section it did not rewrite (read-only ones,
 * or a file image mapped by hand) holds addresses relative to the bias, which are told
 * apart by being below it. Returns the number of relocations passed to `fn`, or -1 when
 * the module has no symbol or string table. */
int leaks_scan_relocs(const ElfW(Dyn) * dyn, uintptr_t bias, leaks_reloc_fn fn, void *ctx);

/* The page range [*lo, *hi) the dynamic linker made read-only after relocation (PT_GNU_RELRO
 * rounded down at both ends, as ld.so protects it); both 0 when the module has none. */
void leaks_relro_range(const ElfW(Phdr) * phdr, int phnum, uintptr_t bias, uintptr_t page_size,
		       uintptr_t *lo, uintptr_t *hi);

#ifdef __cplusplus
}
#endif

#endif
