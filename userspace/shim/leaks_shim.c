/* libperfbpf_shim.so: the interposition library of `perfbpf trace --leaks -- CMD`.
 *
 * Its only job is to give the BPF side cheap probe points. Each allocator call is
 * forwarded to the real allocator (the next definition, found with dlsym(RTLD_NEXT)),
 * then recorded as an event in a per-thread batch; a full batch is handed to
 * perfbpf_leaks_hook(), an empty function whose first instruction is a 5-byte nop, on
 * which perfbpf attaches a uprobe (≈0.26 µs per hit on 6.18; see docs/measured.md). One trap
 * per LEAKS_BATCH events instead of one per call is what keeps exact mode within its
 * budget: the trap, not the BPF program, is the cost.
 *
 * Stacks are unwound here with libunwind (DWARF CFI, so programs built without frame
 * pointers still give full stacks) and deduplicated in a process-wide table; the BPF side
 * receives a small stack id per allocation and the frames once per new stack.
 *
 * An allocation freed by the same thread before its batch was handed over becomes one
 * CHURN event (counted, never outstanding), which spares the kernel map most short-lived
 * allocations. Frees of other threads' allocations may reach the BPF side before the
 * allocation does; bpf/leaks.bpf.c reconciles that order per address.
 *
 * Sampled mode records only allocations chosen by a Poisson process over allocated bytes
 * (mean PERFBPF_LEAKS_SAMPLE_BYTES, as tcmalloc's heap profiler), each with its weight
 * 1/p, and remembers the sampled addresses so their frees, and only theirs, are reported.
 *
 * Environment (set by perfbpf): PERFBPF_LEAKS_PID (the traced process; any other process
 * that inherits the library only forwards), PERFBPF_LEAKS_MODE (exact|sampled),
 * PERFBPF_LEAKS_SAMPLE_BYTES, PERFBPF_LEAKS_SEED (reproducible sampling), PERFBPF_LEAKS_MAX_STACKS,
 * PERFBPF_LEAKS_MAPS_FILE (where to leave /proc/self/maps at exit).
 *
 * Injected (`-p PID`): perfbpf loads the library into a running process with dlopen and
 * calls perfbpf_shim_attach(). Symbol order cannot interpose then, so attach rewrites the
 * allocator entries of every module's GOT (leaks_patch.c), libc's own included (glibc calls
 * malloc through them), forwards to the definitions the process was bound to (dlsym
 * RTLD_DEFAULT), and sees modules loaded later through its dlopen entry.
 * perfbpf_shim_detach() restores every entry; so does the library itself when perfbpf's
 * heartbeat (struct leaks_shim_control) stops, checked at the start of each batch. The
 * library stays loaded: a later trace attaches again (new session: stack ids start over).
 *
 * C only, no C++ runtime: the library must load into any program. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "leaks_patch.h"
#include "perfbpf/leaks.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
#define TLS __attribute__((tls_model("initial-exec"))) __thread
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- the hook: a 5-byte nop and a return, nothing the compiler could reshape ---- */
__asm__(".text\n"
	".globl " LEAKS_HOOK_SYMBOL "\n"
	".type " LEAKS_HOOK_SYMBOL ",@function\n"
	".p2align 4\n" LEAKS_HOOK_SYMBOL ":\n"
	"\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n" /* nopl 0x0(%rax,%rax,1) */
	"\tret\n"
	".size " LEAKS_HOOK_SYMBOL ", .-" LEAKS_HOOK_SYMBOL "\n");
SHIM_EXPORT void perfbpf_leaks_hook(const struct leaks_event *events, unsigned int count,
				    uint64_t batch_start_ns);

/* ---- the real allocator ---- */
struct real_fns {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
};
static struct real_fns real;
static atomic_int resolve_state; /* 0 not started, 1 resolving, 2 done */

/* dlsym may allocate before the real allocator is known: serve it from a static arena
 * whose blocks are never freed. */
static _Alignas(64) char boot_arena[64 * 1024];
static atomic_size_t boot_used;

static bool in_boot_arena(const void *p)
{
	return (const char *)p >= boot_arena && (const char *)p < boot_arena + sizeof(boot_arena);
}

static void *boot_alloc(size_t size, size_t align)
{
	if (align < 16)
		align = 16;
	size_t off = atomic_load(&boot_used);
	for (;;) {
		size_t start = (off + align - 1) & ~(align - 1);
		if (start + size > sizeof(boot_arena))
			return NULL;
		if (atomic_compare_exchange_weak(&boot_used, &off, start + size))
			return boot_arena + start;
	}
}

static void resolve_real(void)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&resolve_state, &expected, 1)) {
		while (atomic_load(&resolve_state) != 2)
			; /* another thread is resolving; it finishes in microseconds */
		return;
	}
	real.malloc = dlsym(RTLD_NEXT, "malloc");
	real.free = dlsym(RTLD_NEXT, "free");
	real.calloc = dlsym(RTLD_NEXT, "calloc");
	real.realloc = dlsym(RTLD_NEXT, "realloc");
	real.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real.memalign = dlsym(RTLD_NEXT, "memalign");
	real.valloc = dlsym(RTLD_NEXT, "valloc");
	real.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	real.mmap = dlsym(RTLD_NEXT, "mmap");
	real.munmap = dlsym(RTLD_NEXT, "munmap");
	atomic_store(&resolve_state, 2);
}

static inline bool real_ready(void)
{
	return LIKELY(atomic_load_explicit(&resolve_state, memory_order_acquire) == 2);
}

/* ---- configuration ---- */
enum shim_mode { SHIM_PASSIVE = 0, SHIM_EXACT = 1, SHIM_SAMPLED = 2 };
static enum shim_mode mode = SHIM_PASSIVE;
static double sample_mean_bytes = 512.0 * 1024;
static uint64_t sample_seed; /* PERFBPF_LEAKS_SEED: 0 = seeded from the clock */
static atomic_uint seeded_threads;
static uint32_t max_stacks = 16383;
static atomic_int init_state; /* 0 not started, 1 in progress, 2 done */
static uintptr_t shim_text_lo, shim_text_hi;
static atomic_bool process_exiting;
/* Sampled mode, initialised: malloc and free take the inline fast paths below. */
static bool sampled_fast;

/* ---- per-thread state ---- */
struct thread_state {
	uint32_t count;
	int32_t depth;	    /* > 0 while inside the shim: nested calls only forward */
	int64_t bytes_left; /* sampled mode: bytes until the next sample */
	uint64_t rng;
	bool registered;
	uint32_t session;	 /* the attach this thread's batch and cache belong to */
	uint64_t batch_start_ns; /* when the batch's first event was recorded */
	struct leaks_event ev[LEAKS_BATCH];
};
static TLS struct thread_state self;
static pthread_key_t exit_key;
/* Injected mode: bumped by each attach, so batches and stack caches of an earlier trace
 * are dropped instead of reaching the next one with stale stack ids. */
static atomic_uint session;

static void flush(void)
{
	if (self.count) {
		if (LIKELY(self.session == atomic_load_explicit(&session, memory_order_relaxed)))
			perfbpf_leaks_hook(self.ev, self.count, self.batch_start_ns);
		/* The addresses would stay in this thread's TLS, where the reachability scan at
		 * the end would take them for pointers that keep the blocks reachable. */
		memset(self.ev, 0, self.count * sizeof(self.ev[0]));
		self.count = 0;
	}
}

static void on_thread_exit(void *unused)
{
	(void)unused;
	self.depth++;
	flush();
	self.depth--;
}

static inline uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t coarse_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

static bool injected; /* attached by perfbpf_shim_attach: entries patched */
static void injected_checks(uint64_t now_ns);

/* A batch's start time lets the BPF side tell a free of a block allocated before the
 * trace from a free that overtook its allocation (another thread's batch): one clock read
 * (vDSO) per batch. */
static void batch_begin(void)
{
	self.batch_start_ns = clock_ns(CLOCK_MONOTONIC);
	self.session = atomic_load_explicit(&session, memory_order_relaxed);
	if (UNLIKELY(injected))
		injected_checks(self.batch_start_ns);
}

static inline struct leaks_event *append(void)
{
	if (self.count == LEAKS_BATCH)
		flush();
	if (UNLIKELY(self.count == 0))
		batch_begin();
	return &self.ev[self.count++];
}

/* Sampled mode hands a batch over when it is full or its first event is this old: samples
 * are rare, so a batch could otherwise wait long, and a trap per sample costs more than
 * the sampling saves on an allocation-heavy program (tens of thousands of samples/s). */
#define SAMPLED_FLUSH_NS (100ULL * 1000 * 1000)
static TLS uint64_t batch_started_ns;

/* After append: hand over a full batch, and in sampled mode one that waited long. */
static inline void maybe_flush_now(bool urgent)
{
	if (urgent || self.count == LEAKS_BATCH ||
	    UNLIKELY(atomic_load_explicit(&process_exiting, memory_order_relaxed))) {
		flush();
		return;
	}
	if (mode == SHIM_SAMPLED) {
		uint64_t now = coarse_now_ns();
		if (self.count == 1)
			batch_started_ns = now;
		else if (now - batch_started_ns >= SAMPLED_FLUSH_NS)
			flush();
	}
}

/* ---- stack table: process-wide, insert under a lock, lookups lock-free ---- */
struct stack_slot {
	_Atomic uint64_t hash;
	_Atomic uint32_t id; /* 0: empty; set last, with release order */
};
static struct stack_slot *slots;
static uint32_t slot_mask;
static uint64_t *frames; /* max_stacks * LEAKS_MAX_DEPTH, row id-1 */
static uint8_t *depths;	 /* max_stacks */
static atomic_uint next_stack_id = 1;
static atomic_flag stack_lock = ATOMIC_FLAG_INIT;

static void *map_zeroed(size_t bytes)
{
	void *p = real.mmap ? real.mmap(NULL, bytes, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
			    : MAP_FAILED;
	return p == MAP_FAILED ? NULL : p;
}

static bool stack_table_init(void)
{
	uint32_t n = 1;
	while (n < 2 * max_stacks)
		n <<= 1;
	slots = map_zeroed((size_t)n * sizeof(*slots));
	frames = map_zeroed((size_t)max_stacks * LEAKS_MAX_DEPTH * sizeof(uint64_t));
	depths = map_zeroed(max_stacks);
	slot_mask = n - 1;
	return slots && frames && depths;
}

static uint64_t hash_frames(const uint64_t *ips, int depth)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)depth;
	for (int i = 0; i < depth; i++) {
		h ^= ips[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h | 1; /* 0 marks an empty slot */
}

static bool same_stack(uint32_t id, const uint64_t *ips, int depth)
{
	return depths[id - 1] == depth &&
	       memcmp(&frames[(size_t)(id - 1) * LEAKS_MAX_DEPTH], ips, depth * sizeof(*ips)) == 0;
}

/* Not a stack id: the table has no room for this stack. */
#define STACK_TABLE_FULL UINT32_MAX

/* Returns the id of this stack, announcing a new one to the BPF side. STACK_TABLE_FULL
 * when there is no room for it. */
static uint32_t stack_id(const uint64_t *ips, int depth, bool whole)
{
	uint64_t h = hash_frames(ips, depth);
	uint32_t i = (uint32_t)h & slot_mask;
	for (;;) {
		uint32_t id = atomic_load_explicit(&slots[i].id, memory_order_acquire);
		if (!id)
			break;
		if (atomic_load_explicit(&slots[i].hash, memory_order_relaxed) == h &&
		    same_stack(id, ips, depth))
			return id;
		i = (i + 1) & slot_mask;
	}
	while (atomic_flag_test_and_set_explicit(&stack_lock, memory_order_acquire))
		;
	/* Re-probe under the lock: another thread may have inserted it meanwhile. */
	uint32_t id = 0;
	i = (uint32_t)h & slot_mask;
	for (;;) {
		uint32_t cur = atomic_load_explicit(&slots[i].id, memory_order_acquire);
		if (!cur)
			break;
		if (atomic_load_explicit(&slots[i].hash, memory_order_relaxed) == h &&
		    same_stack(cur, ips, depth)) {
			id = cur;
			break;
		}
		i = (i + 1) & slot_mask;
	}
	bool fresh = false;
	if (!id) {
		uint32_t next = atomic_load(&next_stack_id);
		if (next <= max_stacks) {
			id = next;
			atomic_store(&next_stack_id, next + 1);
			memcpy(&frames[(size_t)(id - 1) * LEAKS_MAX_DEPTH], ips,
			       depth * sizeof(*ips));
			depths[id - 1] = (uint8_t)depth;
			atomic_store_explicit(&slots[i].hash, h, memory_order_relaxed);
			atomic_store_explicit(&slots[i].id, id, memory_order_release);
			fresh = true;
		}
	}
	atomic_flag_clear_explicit(&stack_lock, memory_order_release);
	if (!id)
		return STACK_TABLE_FULL;
	if (fresh) {
		/* The frames go to the BPF side at once, before any other thread can report
		 * an allocation from this stack at the end of the trace. */
		struct leaks_event *e = append();
		e->kind = LEAKS_EV_NEW_STACK;
		e->stack = id;
		e->ptr = (uint64_t)(uintptr_t)&frames[(size_t)(id - 1) * LEAKS_MAX_DEPTH];
		e->size = (uint64_t)depth;
		e->weight_q16 = 0;
		e->flags = whole ? LEAKS_FLAG_UNWIND_END : 0;
		flush();
	}
	return id;
}

/* Full unwind with libunwind, shim frames skipped. slots[k] receives the address the
 * return address ips[k] was read from (0 when unknown). Returns the depth; *whole tells
 * whether the unwinder reached the outermost frame (unw_step's 0), not an error or the
 * depth limit. */
static __attribute__((noinline)) int unwind(uint64_t *ips, uint64_t *slots, bool *whole)
{
	unw_context_t ctx;
	unw_cursor_t cur;
	int depth = 0, step = -1;
	*whole = false;
	if (unw_getcontext(&ctx) || unw_init_local(&cur, &ctx))
		return 0;
	while (depth < LEAKS_MAX_DEPTH && (step = unw_step(&cur)) > 0) {
		unw_word_t ip = 0, sp = 0;
		unw_get_reg(&cur, UNW_REG_IP, &ip);
		unw_get_reg(&cur, UNW_REG_SP, &sp);
		if (ip >= shim_text_lo && ip < shim_text_hi) {
			depth = 0; /* still inside the shim */
			continue;
		}
		ips[depth] = ip;
		/* x86-64: a caller's return address sits just below the callee's CFA, which
		 * is the caller's stack pointer after the return. Signal frames differ: the
		 * check below leaves their slot unknown. */
		slots[depth] = sp >= 8 && *(const uint64_t *)(uintptr_t)(sp - 8) == ip ? sp - 8 : 0;
		depth++;
	}
	*whole = step == 0;
	return depth;
}

/* Per-thread cache of recent stacks, keyed by where the return address into the program
 * sits on the stack and its value. A hit is confirmed by re-reading every return address
 * of the cached stack at the stack slots where the unwinder found it: the same values at
 * the same places mean the same chain of calls, so a hit costs a few loads instead of an
 * unwind (≈0.1-0.3 µs with libunwind's own cache). Only used on the thread's own stack. */
#define CACHE_SETS 256
#define CACHE_WAYS 16
#define CACHE_ENTRIES (CACHE_SETS * CACHE_WAYS)
struct stack_cache_entry {
	uint64_t slot0;
	uint64_t ip0;
	uint32_t id;
	uint32_t depth;
	uint32_t off[LEAKS_MAX_DEPTH]; /* slot k - slot0 */
};
static TLS struct stack_cache_entry *cache;
static TLS uintptr_t stack_lo, stack_hi;
static TLS bool cache_failed;
static TLS uint32_t cache_session;
static TLS uint32_t cache_victim;

/* Where the first SHAPE_FRAMES return addresses above a call site sat the first time it
 * was unwound. The words at those places pick the set, so the stacks of one call site
 * spread over many sets instead of competing for one (bc -l: hundreds of stacks through
 * one malloc call site). Only the set depends on it: a hit is still confirmed frame by
 * frame, so a shape that does not fit another caller's frames costs misses, not
 * wrong stacks. */
#define SHAPE_ENTRIES 1024
#define SHAPE_FRAMES 6
struct stack_shape {
	uint64_t slot0;
	uint64_t ip0;
	uint32_t n;
	uint32_t off[SHAPE_FRAMES];
};
static TLS struct stack_shape *shapes;

static bool cache_setup(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	if (cache_failed)
		return false;
	cache_failed = true;
	if (pthread_getattr_np(pthread_self(), &attr))
		return false;
	bool ok = pthread_attr_getstack(&attr, &addr, &size) == 0;
	pthread_attr_destroy(&attr);
	if (!ok)
		return false;
	/* one mapping: a thread has both tables or neither */
	char *mem = map_zeroed(CACHE_ENTRIES * sizeof(*cache) + SHAPE_ENTRIES * sizeof(*shapes));
	if (!mem)
		return false;
	shapes = (struct stack_shape *)(mem + CACHE_ENTRIES * sizeof(*cache));
	cache = (struct stack_cache_entry *)mem;
	stack_lo = (uintptr_t)addr;
	stack_hi = (uintptr_t)addr + size;
	cache_failed = false;
	return true;
}

/* The set of CACHE_WAYS entries for a return address and where it sits. Several ways,
 * because one call site reached through different callers (a library called from many
 * places, an interpreter's allocator) has one key and several stacks: with one way they
 * evict each other and the allocation unwinds (sqlite3, 50k INSERTs: 150,854 unwinds for
 * 1,151,650 allocations with one way, 338 with these). */
static inline uint64_t key_hash(uint64_t slot0, uint64_t ip0)
{
	return (slot0 ^ (ip0 * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
}

static inline struct stack_cache_entry *cache_set(uint64_t slot0, uint64_t ip0)
{
	uint64_t h = key_hash(slot0, ip0);
	const struct stack_shape *sh = &shapes[(h >> 32) & (SHAPE_ENTRIES - 1)];
	if (sh->slot0 == slot0 && sh->ip0 == ip0)
		for (uint32_t k = 0; k < sh->n; k++)
			h = (h ^ *(const uint64_t *)(uintptr_t)(slot0 + sh->off[k])) *
			    0xc4ceb9fe1a85ec53ULL;
	return &cache[((h >> 32) & (CACHE_SETS - 1)) * CACHE_WAYS];
}

static void learn_shape(uint64_t slot0, uint64_t ip0, const uint32_t *off, int depth)
{
	struct stack_shape *sh = &shapes[(key_hash(slot0, ip0) >> 32) & (SHAPE_ENTRIES - 1)];
	if (sh->slot0 == slot0 && sh->ip0 == ip0)
		return;
	sh->n = 0;
	sh->slot0 = slot0;
	sh->ip0 = ip0;
	for (int k = 1; k < depth && sh->n < SHAPE_FRAMES; k++)
		sh->off[sh->n++] = off[k];
}

/* The stack id of the allocation whose return address into the program is stored at
 * `ret_slot` (the interposed function's frame). */
static __attribute__((noinline)) uint32_t current_stack(const uint64_t *ret_slot)
{
	uint64_t slot0 = (uint64_t)(uintptr_t)ret_slot, ip0 = *ret_slot;
	bool cacheable = (cache || cache_setup()) && slot0 >= stack_lo && slot0 < stack_hi;
	uint32_t now_session = atomic_load_explicit(&session, memory_order_relaxed);
	if (cacheable && UNLIKELY(cache_session != now_session)) {
		memset(cache, 0, CACHE_ENTRIES * sizeof(*cache)); /* ids of an earlier trace */
		cache_session = now_session;
	}
	if (cacheable) {
		struct stack_cache_entry *set = cache_set(slot0, ip0);
		for (int w = 0; w < CACHE_WAYS; w++) {
			struct stack_cache_entry *e = &set[w];
			if (e->slot0 != slot0 || e->ip0 != ip0 || !e->id)
				continue;
			const uint64_t *want = &frames[(size_t)(e->id - 1) * LEAKS_MAX_DEPTH];
			uint32_t k = 1;
			for (; k < e->depth; k++)
				if (*(const uint64_t *)(uintptr_t)(slot0 + e->off[k]) != want[k])
					break;
			if (k == e->depth)
				return e->id;
		}
	}
	uint64_t ips[LEAKS_MAX_DEPTH], slots[LEAKS_MAX_DEPTH];
	bool whole;
	int depth = unwind(ips, slots, &whole);
	if (depth <= 0)
		return 0;
	uint32_t id = stack_id(ips, depth, whole);
	if (!cacheable || id == STACK_TABLE_FULL || slots[0] != slot0)
		return id;
	for (int k = 1; k < depth; k++)
		if (!slots[k] || slots[k] < slot0 || slots[k] >= stack_hi ||
		    slots[k] - slot0 > UINT32_MAX)
			return id; /* not re-checkable: leave it out of the cache */
	uint32_t off[LEAKS_MAX_DEPTH];
	for (int k = 0; k < depth; k++)
		off[k] = (uint32_t)(slots[k] - slot0);
	learn_shape(slot0, ip0, off, depth);
	struct stack_cache_entry *set = cache_set(slot0, ip0), *c = set; /* after the shape */
	while (c < set + CACHE_WAYS && c->id)
		c++;
	if (c == set + CACHE_WAYS)
		c = &set[cache_victim++ % CACHE_WAYS];
	c->id = 0;
	c->slot0 = slot0;
	c->ip0 = ip0;
	c->depth = (uint32_t)depth;
	memcpy(c->off, off, (size_t)depth * sizeof(off[0]));
	c->id = id;
	return id;
}

/* ---- sampled mode: Poisson sampling by bytes, and the set of sampled addresses ---- */
#define SAMPLED_SLOTS (1u << 17)
#define SAMPLED_TOMB 1ULL
static _Atomic uint64_t *sampled; /* open addressing, 0 = empty, 1 = tombstone */
static uint64_t *sampled_scratch; /* rebuild buffer */
static atomic_uint sampled_seq;	  /* odd while a writer rewrites the table */
static atomic_uint sampled_live;
static uint32_t sampled_used; /* live + tombstones, under the lock */
static atomic_flag sampled_lock = ATOMIC_FLAG_INIT;

static inline uint32_t ptr_slot(uint64_t p)
{
	p ^= p >> 33;
	p *= 0xff51afd7ed558ccdULL;
	p ^= p >> 29;
	return (uint32_t)p & (SAMPLED_SLOTS - 1);
}

static void sampled_rebuild_locked(void)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < SAMPLED_SLOTS; i++) {
		uint64_t k = atomic_load_explicit(&sampled[i], memory_order_relaxed);
		if (k > SAMPLED_TOMB)
			sampled_scratch[n++] = k;
		atomic_store_explicit(&sampled[i], 0, memory_order_relaxed);
	}
	for (uint32_t j = 0; j < n; j++) {
		uint32_t i = ptr_slot(sampled_scratch[j]);
		while (atomic_load_explicit(&sampled[i], memory_order_relaxed))
			i = (i + 1) & (SAMPLED_SLOTS - 1);
		atomic_store_explicit(&sampled[i], sampled_scratch[j], memory_order_relaxed);
	}
	sampled_used = n;
}

static bool sampled_insert(uint64_t p)
{
	bool ok = false;
	while (atomic_flag_test_and_set_explicit(&sampled_lock, memory_order_acquire))
		;
	if (sampled_used + 1 > SAMPLED_SLOTS / 4 * 3) {
		atomic_fetch_add_explicit(&sampled_seq, 1, memory_order_acq_rel);
		sampled_rebuild_locked();
		atomic_fetch_add_explicit(&sampled_seq, 1, memory_order_release);
	}
	if (sampled_used + 1 <= SAMPLED_SLOTS / 4 * 3) {
		uint32_t i = ptr_slot(p);
		while (atomic_load_explicit(&sampled[i], memory_order_relaxed) > SAMPLED_TOMB)
			i = (i + 1) & (SAMPLED_SLOTS - 1);
		if (atomic_load_explicit(&sampled[i], memory_order_relaxed) == 0)
			sampled_used++;
		atomic_store_explicit(&sampled[i], p, memory_order_release);
		atomic_fetch_add(&sampled_live, 1);
		ok = true;
	}
	atomic_flag_clear_explicit(&sampled_lock, memory_order_release);
	return ok;
}

/* True when p was sampled (and forgets it). Lock-free unless p is in the table. */
static bool sampled_take(uint64_t p)
{
	for (;;) {
		unsigned seq = atomic_load_explicit(&sampled_seq, memory_order_acquire);
		if (seq & 1)
			continue;
		uint32_t i = ptr_slot(p);
		bool found = false;
		for (uint32_t probes = 0; probes < SAMPLED_SLOTS; probes++) {
			uint64_t k = atomic_load_explicit(&sampled[i], memory_order_acquire);
			if (k == 0)
				break;
			if (k == p) {
				found = true;
				break;
			}
			i = (i + 1) & (SAMPLED_SLOTS - 1);
		}
		if (atomic_load_explicit(&sampled_seq, memory_order_acquire) != seq)
			continue;
		if (!found)
			return false;
		while (atomic_flag_test_and_set_explicit(&sampled_lock, memory_order_acquire))
			;
		bool taken = false;
		if (atomic_load_explicit(&sampled[i], memory_order_relaxed) == p) {
			atomic_store_explicit(&sampled[i], SAMPLED_TOMB, memory_order_release);
			atomic_fetch_sub(&sampled_live, 1);
			taken = true;
		}
		atomic_flag_clear_explicit(&sampled_lock, memory_order_release);
		if (taken)
			return true;
		/* moved by a rebuild between the probe and the lock: probe again */
	}
}

static inline uint64_t rng_next(void)
{
	uint64_t x = self.rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	self.rng = x;
	return x;
}

/* Bytes to the next sample: exponential with the configured mean. */
static int64_t next_sample_gap(void)
{
	if (!self.rng) {
		if (sample_seed) {
			/* reproducible runs: threads seeded in the order they first sample */
			self.rng = sample_seed * 0x9e3779b97f4a7c15ULL +
				   atomic_fetch_add(&seeded_threads, 1) + 1;
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			self.rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)gettid() ^
				   (uint64_t)(uintptr_t)&self ^ 0x2545f4914f6cdd1dULL;
		}
		if (!self.rng)
			self.rng = 0x2545f4914f6cdd1dULL;
	}
	double u = ((rng_next() >> 11) + 1) * (1.0 / 9007199254740993.0); /* (0, 1] */
	double gap = -log(u) * sample_mean_bytes;
	return gap < 1 ? 1 : gap > 1e15 ? (int64_t)1e15 : (int64_t)gap;
}

/* ---- initialisation ---- */
static int find_own_text(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t me = (uintptr_t)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (me >= lo && me < hi) {
			shim_text_lo = lo;
			shim_text_hi = hi;
			return 1;
		}
	}
	return 0;
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return fallback;
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	return *end ? fallback : n;
}

static void restore_in_child(void);

static void on_fork_child(void)
{
	/* A forked child is another process: it only forwards (perfbpf traces one), and an
	 * injected one gets its entries back at once. */
	mode = SHIM_PASSIVE;
	sampled_fast = false;
	self.count = 0;
	restore_in_child();
}

static char injected_maps_file[256];

/* perfbpf symbolizes after the target has exited, when /proc/PID/maps is gone: leave a
 * copy where it asked (PERFBPF_LEAKS_MAPS_FILE). Plain syscalls, no stdio. */
static void save_maps(void)
{
	const char *dest =
		injected_maps_file[0] ? injected_maps_file : getenv("PERFBPF_LEAKS_MAPS_FILE");
	char buf[4096];
	ssize_t n;
	if (!dest || !*dest)
		return;
	int in = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return;
	int out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out >= 0) {
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				break;
		close(out);
	}
	close(in);
}

static void on_process_exit(void)
{
	atomic_store(&process_exiting, true);
	self.depth++;
	flush();
	save_maps();
	self.depth--;
}

/* Thread-exit flush, fork handling, exit flush: once per process. */
static void register_process_hooks(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	pthread_key_create(&exit_key, on_thread_exit);
	pthread_atfork(NULL, NULL, on_fork_child);
	atexit(on_process_exit);
}

/* Tells the BPF side a new process image (or injected session) starts: stack ids restart. */
static void announce_init(enum shim_mode want)
{
	struct leaks_event *e = append();
	memset(e, 0, sizeof(*e));
	e->kind = LEAKS_EV_INIT;
	e->size = LEAKS_SHIM_ABI;
	e->ptr = (uint64_t)getpid();
	e->weight_q16 = (uint64_t)(want == SHIM_SAMPLED ? sample_mean_bytes : 0);
	flush();
}

static void shim_init(void)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&init_state, &expected, 1))
		return;
	self.depth++;
	if (!real_ready())
		resolve_real();
	enum shim_mode want = SHIM_PASSIVE;
	const char *m = getenv("PERFBPF_LEAKS_MODE");
	if ((uint64_t)getpid() == env_u64("PERFBPF_LEAKS_PID", 0) && m)
		want = strcmp(m, "sampled") == 0 ? SHIM_SAMPLED : SHIM_EXACT;
	sample_mean_bytes = (double)env_u64("PERFBPF_LEAKS_SAMPLE_BYTES", 512 * 1024);
	sample_seed = env_u64("PERFBPF_LEAKS_SEED", 0);
	if (sample_mean_bytes < 1)
		sample_mean_bytes = 1;
	max_stacks = (uint32_t)env_u64("PERFBPF_LEAKS_MAX_STACKS", 16383);
	if (max_stacks < 16)
		max_stacks = 16;
	if (max_stacks > (1u << 20))
		max_stacks = 1u << 20;
	dl_iterate_phdr(find_own_text, (void *)(uintptr_t)&current_stack);
	bool ok = want != SHIM_PASSIVE && stack_table_init();
	if (ok && want == SHIM_SAMPLED) {
		sampled = map_zeroed(SAMPLED_SLOTS * sizeof(uint64_t));
		sampled_scratch = map_zeroed(SAMPLED_SLOTS * sizeof(uint64_t));
		ok = sampled && sampled_scratch;
	}
	if (ok) {
		register_process_hooks();
		announce_init(want);
		mode = want;
		sampled_fast = want == SHIM_SAMPLED;
	}
	self.depth--;
	atomic_store(&init_state, 2);
}

__attribute__((constructor)) static void shim_constructor(void)
{
	shim_init();
}

/* ---- recording ---- */
static inline bool should_record(void)
{
	if (UNLIKELY(atomic_load_explicit(&init_state, memory_order_acquire) != 2)) {
		if (atomic_load(&init_state) == 0 && self.depth == 0)
			shim_init();
		if (atomic_load(&init_state) != 2)
			return false;
	}
	return mode != SHIM_PASSIVE && self.depth == 0;
}

static inline void register_thread(void)
{
	if (UNLIKELY(!self.registered)) {
		self.registered = true;
		pthread_setspecific(exit_key, &self);
	}
}

static void record_alloc(void *p, size_t size, uint16_t flags, const uint64_t *ret_slot)
{
	uint64_t weight = LEAKS_WEIGHT_ONE;
	if (!p)
		return;
	self.depth++;
	if (mode == SHIM_SAMPLED) {
		self.bytes_left -= (int64_t)size;
		if (LIKELY(self.bytes_left > 0)) {
			self.depth--;
			return;
		}
		if (UNLIKELY(!self.rng)) {
			/* first allocation on this thread: place the first sample point */
			self.bytes_left += next_sample_gap();
			if (self.bytes_left > 0) {
				self.depth--;
				return;
			}
		}
		/* Memoryless: the next point after this allocation is one fresh gap away. */
		self.bytes_left = next_sample_gap();
		/* P(an allocation of `size` bytes holds at least one sample point). */
		double prob = -expm1(-(double)size / sample_mean_bytes);
		double w = prob > 0 ? 65536.0 / prob : 65536.0 * sample_mean_bytes;
		weight = w > 1.8e19 ? UINT64_MAX : (uint64_t)(w + 0.5);
		if (!sampled_insert((uint64_t)(uintptr_t)p)) {
			self.depth--;
			return; /* cannot remember its free: leave it out of the estimate */
		}
	}
	register_thread();
	uint32_t stack = current_stack(ret_slot);
	struct leaks_event *e = append();
	e->kind = LEAKS_EV_ALLOC;
	e->ptr = (uint64_t)(uintptr_t)p;
	e->size = size;
	e->weight_q16 = weight;
	e->stack = stack == STACK_TABLE_FULL ? 0 : stack;
	e->flags = stack == STACK_TABLE_FULL ? flags | LEAKS_FLAG_STACK_FULL : flags;
	maybe_flush_now(false);
	self.depth--;
}

static void record_free(void *p)
{
	uint64_t addr = (uint64_t)(uintptr_t)p;
	if (!p)
		return;
	if (mode == SHIM_SAMPLED) {
		if (LIKELY(atomic_load_explicit(&sampled_live, memory_order_relaxed) == 0))
			return;
		if (!sampled_take(addr))
			return;
	}
	self.depth++;
	register_thread();
	/* Allocated and freed within this batch: one CHURN event, no map entry. */
	for (int i = (int)self.count - 1; i >= 0; i--) {
		struct leaks_event *e = &self.ev[i];
		if (e->ptr == addr && e->kind == LEAKS_EV_ALLOC) {
			e->kind = LEAKS_EV_CHURN;
			e->ptr = 0;
			self.depth--;
			return;
		}
	}
	struct leaks_event *e = append();
	e->kind = LEAKS_EV_FREE;
	e->ptr = addr;
	e->size = 0;
	e->weight_q16 = 0;
	e->stack = 0;
	e->flags = 0;
	maybe_flush_now(false);
	self.depth--;
}

/* ---- the interposed functions ---- */
/* Where the return address into the caller sits: the shim is built with frame pointers,
 * so it is just above the saved frame pointer of the interposed function. */
#define RET_SLOT ((const uint64_t *)__builtin_frame_address(0) + 1)

#define ENSURE_REAL()                                                                              \
	do {                                                                                       \
		if (UNLIKELY(!real_ready()))                                                       \
			resolve_real();                                                            \
	} while (0)

SHIM_EXPORT void *malloc(size_t size)
{
	if (UNLIKELY(!real_ready())) {
		if (atomic_load(&resolve_state) == 1)
			return boot_alloc(size, 16);
		resolve_real();
	}
	void *p = real.malloc(size);
	/* Sampled mode: most calls only count bytes down to the next sample. */
	if (LIKELY(sampled_fast) && LIKELY((self.bytes_left -= (int64_t)size) > 0))
		return p;
	if (sampled_fast)
		self.bytes_left += (int64_t)size; /* record_alloc counts it again */
	if (should_record())
		record_alloc(p, size, 0, RET_SLOT);
	return p;
}

SHIM_EXPORT void free(void *p)
{
	if (UNLIKELY(!p || in_boot_arena(p)))
		return;
	ENSURE_REAL();
	/* Sampled mode: nothing sampled is outstanding, so this cannot be a sampled block. */
	if (LIKELY(sampled_fast) &&
	    LIKELY(atomic_load_explicit(&sampled_live, memory_order_relaxed) == 0)) {
		real.free(p);
		return;
	}
	if (should_record())
		record_free(p);
	real.free(p);
}

SHIM_EXPORT void *calloc(size_t n, size_t size)
{
	if (UNLIKELY(!real_ready())) {
		if (atomic_load(&resolve_state) == 1) {
			size_t total;
			if (__builtin_mul_overflow(n, size, &total))
				return NULL;
			return boot_alloc(total, 16); /* static storage is zeroed */
		}
		resolve_real();
	}
	void *p = real.calloc(n, size);
	if (should_record())
		record_alloc(p, n * size, 0, RET_SLOT);
	return p;
}

static void *do_realloc(void *old, size_t size, const uint64_t *ret_slot)
{
	ENSURE_REAL();
	if (UNLIKELY(in_boot_arena(old))) {
		void *p = real.malloc(size);
		if (p)
			memcpy(p, old, size); /* a boot block is never larger than the arena */
		if (p && should_record())
			record_alloc(p, size, 0, ret_slot);
		return p;
	}
	bool rec = should_record();
	void *p = real.realloc(old, size);
	if (rec) {
		/* realloc(p, 0) frees; a failed realloc leaves the old block alive. */
		if (old && (p || size == 0))
			record_free(old);
		if (p)
			record_alloc(p, size, 0, ret_slot);
	}
	return p;
}

SHIM_EXPORT void *realloc(void *old, size_t size)
{
	return do_realloc(old, size, RET_SLOT);
}

SHIM_EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(old, total, RET_SLOT);
}

SHIM_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	ENSURE_REAL();
	int rc = real.posix_memalign(out, align, size);
	if (rc == 0 && should_record())
		record_alloc(*out, size, 0, RET_SLOT);
	return rc;
}

SHIM_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	ENSURE_REAL();
	void *p = real.aligned_alloc(align, size);
	if (should_record())
		record_alloc(p, size, 0, RET_SLOT);
	return p;
}

SHIM_EXPORT void *memalign(size_t align, size_t size)
{
	ENSURE_REAL();
	void *p = real.memalign(align, size);
	if (should_record())
		record_alloc(p, size, 0, RET_SLOT);
	return p;
}

SHIM_EXPORT void *valloc(size_t size)
{
	ENSURE_REAL();
	void *p = real.valloc(size);
	if (should_record())
		record_alloc(p, size, 0, RET_SLOT);
	return p;
}

SHIM_EXPORT void *pvalloc(size_t size)
{
	ENSURE_REAL();
	void *p = real.pvalloc(size);
	if (should_record()) {
		long page = sysconf(_SC_PAGESIZE);
		record_alloc(p, page > 0 ? (size + page - 1) / page * page : size, 0, RET_SLOT);
	}
	return p;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	ENSURE_REAL();
	void *p = real.mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && (flags & MAP_ANONYMOUS) && should_record())
		record_alloc(p, len, LEAKS_FLAG_MMAP, RET_SLOT);
	return p;
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	ENSURE_REAL();
	if (should_record())
		record_free(addr);
	return real.munmap(addr, len);
}

/* ---- injected mode: perfbpf_shim_attach / perfbpf_shim_detach ---- */

/* The shim's own definitions by local names: inside a library loaded with dlopen,
 * `&malloc` would be the process's malloc (found first in the global scope). */
#define SHIM_LOCAL(fn) extern __typeof(fn) shim_##fn __attribute__((alias(#fn), copy(fn)))
SHIM_LOCAL(malloc);
SHIM_LOCAL(free);
SHIM_LOCAL(calloc);
SHIM_LOCAL(realloc);
SHIM_LOCAL(reallocarray);
SHIM_LOCAL(posix_memalign);
SHIM_LOCAL(aligned_alloc);
SHIM_LOCAL(memalign);
SHIM_LOCAL(valloc);
SHIM_LOCAL(pvalloc);
SHIM_LOCAL(mmap);
SHIM_LOCAL(munmap);

/* glibc's dlopen finds its caller from its return address (the caller's RUNPATH, $ORIGIN,
 * namespace), so the entry that replaces it must not call it: it notes that modules may
 * come and jumps on. The new modules are patched at the start of a later batch. */
void *real_dlopen;
int rescan_pending; /* 1: set by the entry below; 2: seen, modules being watched */
__asm__(".text\n"
	".type perfbpf_shim_dlopen,@function\n"
	"perfbpf_shim_dlopen:\n"
	"\tmovl $1, rescan_pending(%rip)\n"
	"\tjmp *real_dlopen(%rip)\n"
	".size perfbpf_shim_dlopen, .-perfbpf_shim_dlopen\n");
void *perfbpf_shim_dlopen(const char *file, int flags);

static struct leaks_patch_fn patch_fns[16];
static int npatch_fns;
static struct leaks_shim_control control;
static uint32_t stack_capacity; /* rows of the stack table mapped so far */
static uint64_t heartbeat_timeout_ns;
static _Atomic uint64_t heartbeat_seen, heartbeat_changed_ns;
static _Atomic unsigned long long modules_seen;
static _Atomic uint64_t rescan_since_ns;
static atomic_flag detach_lock = ATOMIC_FLAG_INIT;

#define RESCAN_WATCH_NS (1000ULL * 1000 * 1000)

/* The definition the process is bound to (its allocator: libc's, or one it links that
 * comes first), never the shim's own, which a preloaded copy would be. */
static void *bound_symbol(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);
	if (!p || ((uintptr_t)p >= shim_text_lo && (uintptr_t)p < shim_text_hi))
		p = dlsym(RTLD_NEXT, name);
	return p;
}

static void add_patch_fn(const char *name, void *replacement, void *realfn)
{
	struct leaks_patch_fn *f = &patch_fns[npatch_fns++];
	f->name = name;
	f->replacement = (uintptr_t)replacement;
	f->real = (uintptr_t)realfn;
}

static void resolve_bound(void)
{
	real.malloc = bound_symbol("malloc");
	real.free = bound_symbol("free");
	real.calloc = bound_symbol("calloc");
	real.realloc = bound_symbol("realloc");
	real.posix_memalign = bound_symbol("posix_memalign");
	real.aligned_alloc = bound_symbol("aligned_alloc");
	real.memalign = bound_symbol("memalign");
	real.valloc = bound_symbol("valloc");
	real.pvalloc = bound_symbol("pvalloc");
	real.mmap = bound_symbol("mmap");
	real.munmap = bound_symbol("munmap");
	real_dlopen = bound_symbol("dlopen");
	npatch_fns = 0;
	add_patch_fn("malloc", shim_malloc, real.malloc);
	add_patch_fn("free", shim_free, real.free);
	add_patch_fn("calloc", shim_calloc, real.calloc);
	add_patch_fn("realloc", shim_realloc, real.realloc);
	add_patch_fn("reallocarray", shim_reallocarray, bound_symbol("reallocarray"));
	add_patch_fn("posix_memalign", shim_posix_memalign, real.posix_memalign);
	add_patch_fn("aligned_alloc", shim_aligned_alloc, real.aligned_alloc);
	add_patch_fn("memalign", shim_memalign, real.memalign);
	add_patch_fn("valloc", shim_valloc, real.valloc);
	add_patch_fn("pvalloc", shim_pvalloc, real.pvalloc);
	add_patch_fn("mmap", shim_mmap, real.mmap);
	add_patch_fn("mmap64", shim_mmap, real.mmap);
	add_patch_fn("munmap", shim_munmap, real.munmap);
	if (real_dlopen)
		add_patch_fn("dlopen", perfbpf_shim_dlopen, real_dlopen);
	atomic_store(&resolve_state, 2);
}

static void attach_failed(int err, const char *why)
{
	control.state = LEAKS_SHIM_FAILED;
	control.error = err;
	strncpy(control.message, why, sizeof(control.message) - 1);
}

/* A stack table for `want` stacks: the one of an earlier session, emptied, when it is
 * large enough (other threads may still read it: it is never unmapped). */
static bool stack_table_for(uint32_t want)
{
	if (slots && want <= stack_capacity) {
		uint32_t used = atomic_load(&next_stack_id) - 1;
		memset(slots, 0, (size_t)(slot_mask + 1) * sizeof(*slots));
		memset(depths, 0, used < stack_capacity ? used : stack_capacity);
		atomic_store(&next_stack_id, 1);
		max_stacks = want;
		return true;
	}
	max_stacks = want;
	atomic_store(&next_stack_id, 1);
	if (!stack_table_init())
		return false;
	stack_capacity = want;
	return true;
}

static uintptr_t self_address(void)
{
	return (uintptr_t)&current_stack;
}

SHIM_EXPORT struct leaks_shim_control *perfbpf_shim_attach(uint32_t abi, uint32_t want_stacks,
							   uint32_t heartbeat_timeout_ms,
							   const char *maps_file)
{
	self.depth++;
	control.abi = LEAKS_SHIM_ABI;
	control.error = 0;
	control.message[0] = 0;
	if (atomic_load(&init_state) != 2)
		shim_init();
	if (abi != LEAKS_SHIM_ABI) {
		attach_failed(EPROTO, "perfbpf and the loaded shim are different versions");
	} else if (mode != SHIM_PASSIVE || injected) {
		attach_failed(EBUSY, "the process is already being traced by a perfbpf");
	} else {
		resolve_bound();
		if (!real.malloc || !real.free || !real.mmap) {
			attach_failed(ENOENT, "no malloc, free or mmap bound in the process");
		} else if (!stack_table_for(want_stacks < 16	       ? 16
					    : want_stacks > (1u << 20) ? 1u << 20
								       : want_stacks)) {
			attach_failed(ENOMEM, "cannot map the stack table");
		} else {
			injected_maps_file[0] = 0;
			if (maps_file)
				strncpy(injected_maps_file, maps_file,
					sizeof(injected_maps_file) - 1);
			uint64_t now = clock_ns(CLOCK_MONOTONIC);
			heartbeat_timeout_ns = (uint64_t)heartbeat_timeout_ms * 1000000ULL;
			atomic_store(&heartbeat_seen,
				     __atomic_load_n(&control.heartbeat, __ATOMIC_RELAXED));
			atomic_store(&heartbeat_changed_ns, now);
			register_process_hooks();
			atomic_fetch_add(&session, 1);
			self.count = 0;
			announce_init(SHIM_EXACT);
			mode = SHIM_EXACT;
			atomic_store(&modules_seen, leaks_modules_added());
			injected = true;
			struct leaks_patch_result r =
				leaks_patch_all(patch_fns, npatch_fns, self_address());
			control.patched_slots = (uint32_t)leaks_patched_slots();
			control.patched_modules = (uint32_t)r.modules;
			control.restored_slots = 0;
			control.error = r.error;
			control.attached_ns = now;
			control.detached_ns = 0;
			control.state = LEAKS_SHIM_ATTACHED;
		}
	}
	self.depth--;
	return &control;
}

/* Restores every entry; `why` is DETACHED (perfbpf asked) or SELF_DETACHED (it is gone). */
static int detach_entries(int why)
{
	if (atomic_flag_test_and_set(&detach_lock))
		return 0; /* another thread is detaching */
	int restored = 0;
	if (injected) {
		restored = leaks_restore_all(patch_fns, npatch_fns, self_address());
		injected = false;
		if (why == LEAKS_SHIM_DETACHED)
			flush();
		else
			self.count = 0; /* nobody listens */
		mode = SHIM_PASSIVE;
		control.restored_slots = (uint32_t)restored;
		control.patched_slots = (uint32_t)leaks_patched_slots();
		control.detached_ns = clock_ns(CLOCK_MONOTONIC);
		control.state = why;
	}
	atomic_flag_clear(&detach_lock);
	return restored;
}

SHIM_EXPORT int perfbpf_shim_detach(void)
{
	self.depth++;
	int restored = detach_entries(LEAKS_SHIM_DETACHED);
	self.depth--;
	return restored;
}

/* perfbpf saw a new module mapped (a dlopen whose module has made no call through the
 * shim yet, so no batch started to notice it). */
SHIM_EXPORT int perfbpf_shim_rescan(void)
{
	int patched = 0;
	self.depth++;
	if (injected) {
		atomic_store(&modules_seen, leaks_modules_added());
		patched = leaks_patch_all(patch_fns, npatch_fns, self_address()).slots;
		control.patched_slots = (uint32_t)leaks_patched_slots();
	}
	self.depth--;
	return patched;
}

static void restore_in_child(void)
{
	if (injected) {
		leaks_restore_all(patch_fns, npatch_fns, self_address());
		injected = false;
	}
}

/* At the start of a batch: is perfbpf still there, and did a dlopen bring modules? */
static void injected_checks(uint64_t now_ns)
{
	uint64_t beat = __atomic_load_n(&control.heartbeat, __ATOMIC_RELAXED);
	if (beat != atomic_load_explicit(&heartbeat_seen, memory_order_relaxed)) {
		atomic_store_explicit(&heartbeat_seen, beat, memory_order_relaxed);
		atomic_store_explicit(&heartbeat_changed_ns, now_ns, memory_order_relaxed);
	} else {
		uint64_t since = atomic_load_explicit(&heartbeat_changed_ns, memory_order_relaxed);
		if (now_ns > since && now_ns - since > heartbeat_timeout_ns) {
			detach_entries(LEAKS_SHIM_SELF_DETACHED);
			return;
		}
	}
	if (LIKELY(!__atomic_load_n(&rescan_pending, __ATOMIC_RELAXED)))
		return;
	if (__atomic_exchange_n(&rescan_pending, 2, __ATOMIC_RELAXED) == 1)
		atomic_store(&rescan_since_ns, now_ns);
	unsigned long long adds = leaks_modules_added();
	if (adds != atomic_exchange(&modules_seen, adds)) {
		atomic_store(&rescan_since_ns, now_ns);
		leaks_patch_all(patch_fns, npatch_fns, self_address());
		control.patched_slots = (uint32_t)leaks_patched_slots();
	} else {
		uint64_t since = atomic_load(&rescan_since_ns);
		int watching = 2;
		if (now_ns > since && now_ns - since > RESCAN_WATCH_NS)
			__atomic_compare_exchange_n(&rescan_pending, &watching, 0, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}
