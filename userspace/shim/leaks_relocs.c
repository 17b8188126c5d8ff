#include "leaks_relocs.h"

#include <stddef.h>

static uintptr_t runtime_addr(ElfW(Addr) ptr, uintptr_t bias)
{
	return ptr < bias ? (uintptr_t)ptr + bias : (uintptr_t)ptr;
}

static int scan_table(const ElfW(Rela) * rela, size_t bytes, size_t entsize,
		      const ElfW(Sym) * symtab, const char *strtab, uintptr_t bias,
		      leaks_reloc_fn fn, void *ctx, int *seen)
{
	if (!rela || !entsize)
		return 0;
	for (size_t off = 0; off + sizeof(ElfW(Rela)) <= bytes; off += entsize) {
		const ElfW(Rela) *r = (const ElfW(Rela) *)((const char *)rela + off);
		unsigned int type = ELF64_R_TYPE(r->r_info);
		size_t sym = ELF64_R_SYM(r->r_info);
		if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || !sym)
			continue;
		(*seen)++;
		if (fn(ctx, bias + r->r_offset, strtab + symtab[sym].st_name, type))
			return 1;
	}
	return 0;
}

int leaks_scan_relocs(const ElfW(Dyn) * dyn, uintptr_t bias, leaks_reloc_fn fn, void *ctx)
{
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *rela = NULL, *jmprel = NULL;
	size_t rela_bytes = 0, rela_ent = sizeof(ElfW(Rela)), jmprel_bytes = 0;
	int pltrel_is_rela = 1, seen = 0;

	if (!dyn)
		return -1;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB:
			symtab = (const ElfW(Sym) *)runtime_addr(d->d_un.d_ptr, bias);
			break;
		case DT_STRTAB:
			strtab = (const char *)runtime_addr(d->d_un.d_ptr, bias);
			break;
		case DT_RELA:
			rela = (const ElfW(Rela) *)runtime_addr(d->d_un.d_ptr, bias);
			break;
		case DT_RELASZ:
			rela_bytes = d->d_un.d_val;
			break;
		case DT_RELAENT:
			rela_ent = d->d_un.d_val;
			break;
		case DT_JMPREL:
			jmprel = (const ElfW(Rela) *)runtime_addr(d->d_un.d_ptr, bias);
			break;
		case DT_PLTRELSZ:
			jmprel_bytes = d->d_un.d_val;
			break;
		case DT_PLTREL:
			pltrel_is_rela = d->d_un.d_val == DT_RELA;
			break;
		}
	}
	if (!symtab || !strtab)
		return -1;
	if (scan_table(rela, rela_bytes, rela_ent, symtab, strtab, bias, fn, ctx, &seen))
		return seen;
	/* x86-64 PLT relocations are always RELA; anything else is not ours to read */
	if (pltrel_is_rela)
		scan_table(jmprel, jmprel_bytes, sizeof(ElfW(Rela)), symtab, strtab, bias, fn, ctx,
			   &seen);
	return seen;
}

void leaks_relro_range(const ElfW(Phdr) * phdr, int phnum, uintptr_t bias, uintptr_t page_size,
		       uintptr_t *lo, uintptr_t *hi)
{
	*lo = *hi = 0;
	for (int i = 0; i < phnum; i++) {
		if (phdr[i].p_type != PT_GNU_RELRO)
			continue;
		uintptr_t start = bias + phdr[i].p_vaddr, end = start + phdr[i].p_memsz;
		*lo = start & ~(page_size - 1);
		*hi = end & ~(page_size - 1);
		return;
	}
}
