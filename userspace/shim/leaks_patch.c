#define _GNU_SOURCE
#include "leaks_patch.h"

#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "leaks_relocs.h"

/* Old values of the entries rewritten, by address: restore puts them back (a lazily bound
 * entry goes back to its PLT stub and binds again on its next call). */
#define SAVED_MAX 8192
struct saved_slot {
	uintptr_t slot;
	uintptr_t original;
};
static struct saved_slot saved[SAVED_MAX];
static int nsaved;
static int npatched;
static atomic_flag patch_lock = ATOMIC_FLAG_INIT;

static void lock(void)
{
	while (atomic_flag_test_and_set_explicit(&patch_lock, memory_order_acquire))
		;
}

static void unlock(void)
{
	atomic_flag_clear_explicit(&patch_lock, memory_order_release);
}

struct module_ctx {
	const struct leaks_patch_fn *fns;
	int nfns;
	uintptr_t relro_lo, relro_hi, page;
	int restore; /* 0: patch, 1: restore */
	int slots, error;
};

static const struct leaks_patch_fn *find_fn(const struct module_ctx *c, const char *name)
{
	for (int i = 0; i < c->nfns; i++)
		if (c->fns[i].name[0] == name[0] && strcmp(c->fns[i].name, name) == 0)
			return &c->fns[i];
	return NULL;
}

static struct saved_slot *find_saved(uintptr_t slot)
{
	for (int i = 0; i < nsaved; i++)
		if (saved[i].slot == slot)
			return &saved[i];
	return NULL;
}

/* One aligned 8-byte store: a thread calling through the entry meanwhile sees the old or
 * the new function, both valid. RELRO pages are made writable for the store only. */
static int store_slot(struct module_ctx *c, uintptr_t slot, uintptr_t value)
{
	int in_relro = slot >= c->relro_lo && slot < c->relro_hi;
	void *page = (void *)(slot & ~(c->page - 1));
	if (in_relro && mprotect(page, c->page, PROT_READ | PROT_WRITE) != 0)
		return errno;
	__atomic_store_n((uintptr_t *)slot, value, __ATOMIC_RELEASE);
	if (in_relro)
		mprotect(page, c->page, PROT_READ);
	return 0;
}

static int on_reloc(void *ctx, uintptr_t slot, const char *name, unsigned int type)
{
	struct module_ctx *c = ctx;
	(void)type;
	const struct leaks_patch_fn *fn = find_fn(c, name);
	if (!fn || (slot & 7))
		return 0;
	uintptr_t now = __atomic_load_n((uintptr_t *)slot, __ATOMIC_ACQUIRE);
	if (c->restore) {
		if (now != fn->replacement)
			return 0;
		struct saved_slot *s = find_saved(slot);
		int err = store_slot(c, slot, s ? s->original : fn->real);
		if (err)
			c->error = err;
		else
			c->slots++;
		return 0;
	}
	if (now == fn->replacement)
		return 0;
	struct saved_slot *s = find_saved(slot);
	if (!s) {
		if (nsaved == SAVED_MAX) {
			c->error = ENOSPC;
			return 1;
		}
		s = &saved[nsaved++];
		s->slot = slot;
	}
	s->original = now;
	int err = store_slot(c, slot, fn->replacement);
	if (err)
		c->error = err;
	else
		c->slots++;
	return 0;
}

static int skipped(const struct dl_phdr_info *info, uintptr_t self)
{
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "ld.so", 5) == 0 ||
	    strncmp(base, "linux-vdso", 10) == 0 || strncmp(base, "linux-gate", 10) == 0)
		return 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && self >= lo && self < lo + ph->p_memsz)
			return 1;
	}
	return 0;
}

struct walk_ctx {
	struct module_ctx m;
	uintptr_t self;
	int modules;
};

static int on_module(struct dl_phdr_info *info, size_t size, void *data)
{
	struct walk_ctx *w = data;
	(void)size;
	if (skipped(info, w->self))
		return 0;
	const ElfW(Dyn) *dyn = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (!dyn)
		return 0;
	leaks_relro_range(info->dlpi_phdr, info->dlpi_phnum, info->dlpi_addr, w->m.page,
			  &w->m.relro_lo, &w->m.relro_hi);
	int before = w->m.slots;
	leaks_scan_relocs(dyn, info->dlpi_addr, on_reloc, &w->m);
	if (w->m.slots > before)
		w->modules++;
	return 0;
}

static struct walk_ctx walk(const struct leaks_patch_fn *fns, int nfns, uintptr_t self, int restore)
{
	struct walk_ctx w;
	memset(&w, 0, sizeof(w));
	w.m.fns = fns;
	w.m.nfns = nfns;
	w.m.restore = restore;
	w.m.page = getauxval(AT_PAGESZ);
	if (!w.m.page)
		w.m.page = 4096;
	w.self = self;
	dl_iterate_phdr(on_module, &w);
	return w;
}

struct leaks_patch_result leaks_patch_all(const struct leaks_patch_fn *fns, int nfns,
					  uintptr_t self)
{
	lock();
	struct walk_ctx w = walk(fns, nfns, self, 0);
	npatched += w.m.slots;
	unlock();
	struct leaks_patch_result r = {w.m.slots, w.modules, w.m.error};
	return r;
}

int leaks_restore_all(const struct leaks_patch_fn *fns, int nfns, uintptr_t self)
{
	lock();
	struct walk_ctx w = walk(fns, nfns, self, 1);
	nsaved = 0;
	npatched = 0;
	unlock();
	return w.m.slots;
}

int leaks_patched_slots(void)
{
	return __atomic_load_n(&npatched, __ATOMIC_RELAXED);
}

static int first_module(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(unsigned long long *)data = info->dlpi_adds;
	return 1;
}

unsigned long long leaks_modules_added(void)
{
	unsigned long long adds = 0;
	dl_iterate_phdr(first_module, &adds);
	return adds;
}
