/* Rewriting the allocator slots (GOT entries) of every loaded module, the way
 * libperfbpf_shim.so routes a running process's allocator calls through itself when it
 * was loaded by dlopen (perfbpf's injection) rather than preloaded: symbol order cannot
 * interpose then, so each module's JUMP_SLOT/GLOB_DAT entries for the functions below are
 * pointed at the shim, and pointed back on restore. */
#ifndef PERFBPF_LEAKS_PATCH_H
#define PERFBPF_LEAKS_PATCH_H

#include <stdint.h>

struct leaks_patch_fn {
	const char *name;
	uintptr_t replacement; /* the shim's function */
	uintptr_t real;	       /* where a slot goes back when its old value is not known */
};

struct leaks_patch_result {
	int slots;   /* entries rewritten by this call */
	int modules; /* modules with at least one entry rewritten */
	int error;   /* errno of a failed mprotect, 0 if none */
};

/* Patches every loaded module except the shim itself (the module containing `self`), the
 * dynamic linker and the vDSO. Entries already pointing at the shim are left alone, so a
 * later call patches only modules loaded since. Thread-safe. */
struct leaks_patch_result leaks_patch_all(const struct leaks_patch_fn *fns, int nfns,
					  uintptr_t self);

/* Points every entry that holds one of the replacements back at its old value (the real
 * function when the old value is unknown), in the modules loaded now: a module unloaded
 * since is not touched. Returns the number of entries restored. */
int leaks_restore_all(const struct leaks_patch_fn *fns, int nfns, uintptr_t self);

/* Entries currently pointing at the shim (as far as this file knows). */
int leaks_patched_slots(void);

/* dlpi_adds of the dynamic linker: changes when a module may have been loaded. */
unsigned long long leaks_modules_added(void);

#endif
