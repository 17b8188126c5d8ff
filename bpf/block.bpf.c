/* Block probe family: per disk, read/write/other requests and bytes, issue -> completion
 * latency (log2 µs histogram) and in-flight depth; per process, the bytes and requests it
 * submitted.
 *
 * Cost is the design constraint (docs/measured.md: fio 4k random reads at ~96 k IOPS; Debian's
 * biolatency costs 0.94x). What costs here are cache lines that are not hot and hash map
 * updates, so the per-request path makes no hash update and touches few lines: the
 * programs are tp_btf where the kernel loads them (else their raw_tp twins from the same
 * source, see BTF_OR_RAW_TP), so the fields of struct request and struct bio are plain
 * loads (no probe read), devices are array slots found from the queue address (one load,
 * no hash), an issue touches the device's first cache line and one in-flight slot, and a
 * completion's counters are this CPU's own (no atomic add on a line the issuing CPU also
 * writes). Kernel run statistics under fio here (bench/prog_cost.sh, alternating runs at
 * matched I/O counts, loaded machine): issue 58 ns, completion 97 ns, block_getrq 66 ns,
 * against the empty program's 31-33 ns on each hook (with a probe read of the request's
 * or bio's head: 65, 109, 76; with the device hash before that: 87, 144, 93).
 *
 * Sequentiality (for the block-io tuner's readahead decisions): each read or write issue is
 * compared with the ends of the device's last PERFBPF_BLK_STREAMS streams (four compares,
 * one atomic add when it continues a stream).
 *
 * Latency: on queues that keep I/O statistics (QUEUE_FLAG_STATS, set whenever writeback
 * throttling or another rq-qos policy is on: every blk-mq disk by default on both 6.1 and
 * 6.18) blk_mq_start_request() stores rq->io_start_time_ns right after block_rq_issue, so
 * the completion computes issue -> completion without a timestamp of its own. A queue
 * without it is detected at its first completion (io_start_time_ns == 0 on a
 * non-passthrough request); from then on block_rq_issue stamps that device's requests.
 * Until then rq->start_time_ns (allocation, includes time spent queued) is used.
 * block_dev_counters.lat_src counts the samples from each source.
 *
 * In-flight depth: a counter incremented at issue and decremented at completion drifts
 * for good when one completion is not seen, and on this 6.18 host block_rq_complete
 * programs miss roughly 1 completion in 10^4 under load (the tracepoint fires, perf counts
 * it, the program does not run, no recursion miss is recorded). So each issued request
 * owns a slot of a direct-mapped table indexed by a hash of its address, and a device's
 * level is the number of slots its requests own: a request whose completion was missed is
 * found in its slot when the kernel reuses it (requests are recycled from fixed pools), or
 * is evicted by the next request hashing to that slot, and the level heals instead of
 * drifting. The table is an ARRAY: lookups are inlined, no helper call.
 *
 * Per-process latency: the issuing context is often not the submitter (kblockd, another
 * task's plug or scheduler dispatch), so the submitter is remembered by bio: where a bio is
 * attributed (below), its address, tgid and the index of the process's slot go into a
 * direct-mapped ARRAY slot; at completion rq->bio finds its submitter there, and the
 * latency's histogram slot is added to that process's entry. Costs one array store per bio
 * and, per completed read or write whose submitter is known, one array lookup (inlined)
 * and a tgid compare: per-process entries are slots of an array too (block.h), so neither
 * the submission nor the completion hashes. */
#include "common.bpf.h"
#include "perfbpf/block.h"

/* include/linux/blk_types.h: the op is the low REQ_OP_BITS (8) bits of cmd_flags/bi_opf,
 * unchanged since 4.10. */
#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1U << REQ_OP_BITS) - 1)

#define INFLIGHT_SLOT_BITS 15

/* Written by user space through the mmapped .bss (see block.h): the in-flight epoch after
 * each read, the device generation whenever a disk appears. */
__u64 inflight_epoch = 0;
__u64 dev_generation = 0;
/* addr_key's base as a number, stored by the first raw_tp run (see addr_key). */
__u64 addr_key_base = 0;

/* Devices by slot (see block.h), found from the request queue's address: one read (rq->q)
 * instead of three (rq->q->disk->major/first_minor), and array lookups the verifier inlines
 * where a hash lookup hashed the key and walked a bucket on every request. A queue's address
 * is reused only by a disk created after the old one was freed; user space bumps
 * dev_generation when a disk appears, and each slot resolves its disk's numbers again at
 * its next event. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PERFBPF_BLK_DEV_SLOTS);
	__type(key, __u32);
	__type(value, struct block_dev_state);
} dev_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PERFBPF_BLK_DEV_SLOTS);
	__type(key, __u32);
	__type(value, struct block_dev_counters);
} dev_counters SEC(".maps");

/* Who claimed a slot (slot -> queue, see claim_slot): touched only while a slot is free. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PERFBPF_BLK_DEV_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} dev_claims SEC(".maps");

/* Per process, in slots (see block.h); user space reads it through a mapping and frees the
 * slots of processes that exited. Not per-CPU: memory stays bounded on large machines, and
 * one process rarely submits from several CPUs at once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PERFBPF_BLK_PROC_SLOTS);
	__type(key, __u32);
	__type(value, struct block_proc_slot);
} proc_stats SEC(".maps");

_Static_assert(sizeof(struct block_proc_slot) % 64 == 0, "slots start on a cache line");
_Static_assert(__builtin_offsetof(struct block_proc_slot, tgid) == 0, "tgid_slot's tag");

/* Who claimed a slot (slot -> tgid, see claim_slot): touched only at a process's first
 * bio. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PERFBPF_BLK_PROC_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} proc_claims SEC(".maps");

SLOT_USED_MAP(proc_used, PERFBPF_BLK_PROC_SLOTS);

/* The submitter of a recently attributed bio; a slot another bio hashes to is taken over
 * (that request's latency then goes unattributed). */
struct bio_owner {
	__u64 bio; /* addr_key of the bio */
	__u32 tgid;
	__u32 slot; /* the submitter's slot in proc_stats */
};

#define BIO_OWNER_BITS 14

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << BIO_OWNER_BITS);
	__type(key, __u32);
	__type(value, struct bio_owner);
} bio_owners SEC(".maps");

struct inflight_slot {
	__u64 rq;  /* addr_key of the request that owns the slot, 0 when free */
	__u32 dev; /* the owner's device slot */
	__u32 pad;
	__u64 issue_ns; /* issue time when the device needs our stamp, else 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << INFLIGHT_SLOT_BITS);
	__type(key, __u32);
	__type(value, struct inflight_slot);
} inflight SEC(".maps");

/* The programs on the per-request hooks are tp_btf programs: their request and bio
 * arguments are BTF pointers, so each field is a plain load (≈1 ns) where a raw_tp program
 * needs a probe read (one copy of the request's head cost ≈20 ns). The verifier forbids
 * arithmetic on such pointers, and the tables here hash addresses: for a privileged
 * program it does let the difference of two pointers be a number. The difference from a
 * fixed map's address is the address shifted by a constant, as unique a key and as good
 * for hashing; every table and user space only compare these keys, never dereference
 * them. Never 0 for a kernel object (0 marks free slots).
 *
 * The raw_tp fallbacks (BTF_OR_RAW_TP) compute the same key, so both variants agree on
 * every table: there the address is a number, and the verifier forbids number minus map
 * pointer, but a privileged program may store the map's address in a global and read it
 * back as a number. The volatile re-read keeps clang from reusing the pointer. */
static __always_inline __u64 addr_key(const void *p, bool btf)
{
	__u64 base;

	if (btf)
		return (__u64)p - (__u64)(const void *)&inflight;
	base = addr_key_base;
	if (!base) {
		addr_key_base = (__u64)(const void *)&inflight;
		base = *(volatile __u64 *)&addr_key_base;
	}
	return (__u64)p - base;
}

/* The disk's numbers: two loads, at a slot's first event and after a disk appears. */
static __always_inline void resolve_disk(struct request_queue *q, struct block_dev_state *d,
					 bool btf)
{
	struct gendisk *disk = KFIELD(btf, q, disk);

	d->major = KFIELD(btf, disk, major);
	d->minor = KFIELD(btf, disk, first_minor);
}

/* Index of a kernel object's address key in a direct-mapped table of 2^bits slots
 * (Fibonacci hashing: the high bits of the product mix every address bit). */
static __always_inline __u32 table_index(__u64 key, __u32 bits)
{
	return (key * 0x9E3779B97F4A7C15ULL) >> (64 - bits);
}

/* The slot of queue q (its index in *slot), claimed on the queue's first request. */
static __always_inline struct block_dev_state *dev_entry(struct request_queue *queue, __u32 *slot,
							 bool btf)
{
	__u64 q = addr_key(queue, btf);
	__u32 home = table_index(q, PERFBPF_BLK_DEV_SLOT_BITS);
	struct block_dev_state *d = NULL;
	__u64 gen = dev_generation;

#pragma unroll
	for (int i = 0; i < PERFBPF_BLK_DEV_PROBES; i++) {
		__u32 idx = (home + i) & (PERFBPF_BLK_DEV_SLOTS - 1);
		struct block_dev_state *e = bpf_map_lookup_elem(&dev_stats, &idx);

		if (!e)
			return NULL;
		if (e->queue == q) {
			d = e;
			*slot = idx;
			break;
		}
		/* A free slot another CPU claims for another queue meanwhile is passed by. */
		if (!e->queue && claim_slot(&dev_claims, idx, q)) {
			e->queue = q;
			e->generation = ~gen; /* resolve below */
			d = e;
			*slot = idx;
			break;
		}
	}
	if (!d) {
		count_drop(PERFBPF_DROP_BLOCK_MAP_FULL);
		return NULL;
	}
	if (d->generation != gen || !d->major) {
		resolve_disk(queue, d, btf);
		d->generation = gen;
	}
	return d;
}

static __always_inline struct inflight_slot *slot_of(__u64 rq)
{
	__u32 idx = table_index(rq, INFLIGHT_SLOT_BITS);

	return bpf_map_lookup_elem(&inflight, &idx);
}

static __always_inline struct bio_owner *owner_slot(__u64 bio)
{
	__u32 idx = table_index(bio, BIO_OWNER_BITS);

	return bpf_map_lookup_elem(&bio_owners, &idx);
}

/* The latency of a completed read or write, to the process that submitted its first bio. */
static __always_inline void account_owner_latency(struct bio *first, __u32 slot, bool btf)
{
	struct block_proc_slot *p;
	struct bio_owner *o;
	__u32 idx;
	__u64 bio;

	if (!first)
		return;
	bio = addr_key(first, btf);
	o = owner_slot(bio);
	if (!o || o->bio != bio)
		return;
	o->bio = 0; /* the bio ends with this request: a reused address must not match */
	idx = o->slot;
	p = bpf_map_lookup_elem(&proc_stats, &idx);
	/* The slot was freed (the process exited) or claimed by another since: unattributed.
	 * Checked on lat_tgid, in the histogram's line: the submitter's CPU writes line 0 at
	 * every bio, and reading it here moved it to this CPU and back at every I/O. */
	if (p && p->lat_tgid == o->tgid)
		__sync_fetch_and_add(&p->io_lat_hist[slot & (PERFBPF_HIST_SLOTS - 1)], 1);
}

static __always_inline void level_down(struct block_dev_state *d)
{
	/* Clamped: a request the probe never saw issued (in flight at attach) must not
	 * push the level below zero. */
	if (d->inflight > 0)
		__sync_fetch_and_add(&d->inflight, -1);
}

/* The slot's owner is gone (completed, requeued, or its completion was missed and another
 * request takes the slot): its device has one request fewer in flight. */
static __always_inline void release(struct inflight_slot *s, __u32 dev, struct block_dev_state *d)
{
	if (!d || s->dev != dev)
		d = bpf_map_lookup_elem(&dev_stats, &s->dev);
	if (d)
		level_down(d);
	s->rq = 0;
}

static __always_inline bool is_passthrough(__u32 op)
{
	return op == REQ_OP_DRV_IN || op == REQ_OP_DRV_OUT;
}

/* Sequentiality: a read or write that starts where one of the device's recent requests
 * ended continues that stream (readahead, a sequential writer); any other starts a new
 * stream in the slot used longest ago. Plain stores: two CPUs racing on one device can only
 * lose a slot update, which makes one request look random. */
static __always_inline void track_stream(struct block_dev_state *d, __u32 op, __u64 sector,
					 __u64 len_bytes)
{
	__u64 next = sector + (len_bytes >> 9) + 1; /* stored +1: 0 marks an unused slot */
	__u32 i;

	if (op != REQ_OP_READ && op != REQ_OP_WRITE)
		return;
#pragma unroll
	for (i = 0; i < PERFBPF_BLK_STREAMS; i++) {
		if (d->stream_end[i] == sector + 1) {
			d->stream_end[i] = next;
			if (op == REQ_OP_READ)
				__sync_fetch_and_add(&d->read_seq_ios, 1);
			else
				__sync_fetch_and_add(&d->write_seq_ios, 1);
			return;
		}
	}
	i = d->stream_next++ & (PERFBPF_BLK_STREAMS - 1);
	d->stream_end[i] = next;
}

static __always_inline int rq_issue(struct request *rq, bool btf)
{
	__u64 key = addr_key(rq, btf);
	struct block_dev_state *d;
	struct inflight_slot *s;
	__u64 epoch = inflight_epoch;
	__u32 dev = 0;
	__s64 depth;

	d = dev_entry(KFIELD(btf, rq, q), &dev, btf);
	s = slot_of(key);
	if (!d || !s)
		return 0;
	/* Already the owner: issued again without a requeue event, or its completion was
	 * missed; either way it is counted once. */
	if (s->rq != key) {
		if (s->rq)
			release(s, dev, d);
		s->rq = key;
		s->dev = dev;
		__sync_fetch_and_add(&d->inflight, 1);
		track_stream(d, KFIELD(btf, rq, cmd_flags) & REQ_OP_MASK, KFIELD(btf, rq, __sector),
			     KFIELD(btf, rq, __data_len));
	}
	s->issue_ns = d->stamp_issues ? bpf_ktime_get_ns() : 0;
	/* Read back instead of using the fetched value: the value-returning atomic needs
	 * -mcpu=v3. Two CPUs racing here can only make the maximum read one lower. */
	depth = d->inflight;
	if (d->max_epoch != epoch) {
		d->max_epoch = epoch;
		d->inflight_max = depth;
	} else if (depth > d->inflight_max) {
		d->inflight_max = depth;
	}
	return 0;
}

BTF_OR_RAW_TP(block_rq_issue, on_block_rq_issue, rq_issue(rq, btf), struct request *rq)

/* A started request that goes back to the queue is issued again later. */
static __always_inline int rq_requeue(struct request *rq, bool btf)
{
	__u64 key = addr_key(rq, btf);
	struct inflight_slot *s = slot_of(key);

	if (s && s->rq == key)
		release(s, s->dev, NULL);
	return 0;
}

BTF_OR_RAW_TP(block_rq_requeue, on_block_rq_requeue, rq_requeue(rq, btf), struct request *rq)

static __always_inline int rq_complete(struct request *rq, unsigned int nr_bytes, bool btf)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 op, src = PERFBPF_BLK_LAT_KERNEL_ISSUE, op_class = PERFBPF_BLK_OP_OTHER;
	struct block_dev_counters *c;
	struct block_dev_state *d;
	struct inflight_slot *s;
	__u64 key = addr_key(rq, btf);
	__u32 dev = 0;
	__u64 start;

	d = dev_entry(KFIELD(btf, rq, q), &dev, btf);
	if (!d)
		return 0;
	c = bpf_map_lookup_elem(&dev_counters, &dev);
	if (!c)
		return 0;
	op = KFIELD(btf, rq, cmd_flags) & REQ_OP_MASK;
	if (op == REQ_OP_READ)
		c->read_bytes += nr_bytes;
	else if (op == REQ_OP_WRITE)
		c->write_bytes += nr_bytes;
	else
		c->other_bytes += nr_bytes;
	/* A driver may complete a request in parts (blk_update_request per part); the request
	 * is done when this part covers what remains (__data_len is not yet reduced). */
	if (nr_bytes < KFIELD(btf, rq, __data_len))
		return 0;
	if (op == REQ_OP_READ) {
		c->read_ios++;
		op_class = PERFBPF_BLK_OP_READ;
	} else if (op == REQ_OP_WRITE) {
		c->write_ios++;
		op_class = PERFBPF_BLK_OP_WRITE;
	} else {
		c->other_ios++;
	}

	start = KFIELD(btf, rq, io_start_time_ns);
	s = slot_of(key);
	if (s && s->rq == key) {
		if (!start && s->issue_ns) {
			start = s->issue_ns;
			src = PERFBPF_BLK_LAT_PROBE_ISSUE;
		}
		release(s, dev, d);
	}
	if (start && src == PERFBPF_BLK_LAT_KERNEL_ISSUE && d->stamp_issues)
		d->stamp_issues = 0; /* the queue's statistics were switched (back) on */
	if (!start) {
		/* Passthrough requests never get io_start_time_ns: they say nothing about
		 * the queue. */
		if (!is_passthrough(op))
			d->stamp_issues = 1;
		start = KFIELD(btf, rq, start_time_ns);
		src = start ? PERFBPF_BLK_LAT_ALLOC : PERFBPF_BLK_LAT_NONE;
	}
	c->lat_src[src & (PERFBPF_BLK_LAT_SRC_COUNT - 1)]++;
	if (start) {
		__u64 lat = now > start ? now - start : 0;
		__u32 slot = hist_slot_us(lat);

		c->lat_hist[op_class][slot]++;
		if (op_class != PERFBPF_BLK_OP_OTHER)
			account_owner_latency(KFIELD(btf, rq, bio), slot, btf);
	}
	return 0;
}

BTF_OR_RAW_TP(block_rq_complete, on_block_rq_complete, rq_complete(rq, nr_bytes, btf),
	      struct request *rq, blk_status_t error, unsigned int nr_bytes)

/* Per process: a bio is attributed when it becomes a request (block_getrq) or is merged
 * into one (block_bio_backmerge/frontmerge). Between them these fire exactly once for every
 * bio blk-mq accepts, in the context of the task that submitted it, with the bio's final
 * size: a bio too large for the queue is split first and each piece passes through here
 * once (block_bio_queue would see the original and again every resubmitted remainder).
 * Direct I/O and buffered reads are attributed to the reader or writer; buffered writes to
 * whoever writes the pages back (the flusher kworker, or the writer under fsync or dirty
 * throttling), since that is the task the block layer sees. */
static __always_inline int account_bio(struct bio *bio, __u32 new_request, bool btf)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 op = KFIELD(btf, bio, bi_opf) & REQ_OP_MASK;
	struct block_proc_slot *p;
	bool claimed = false;
	struct bio_owner *o;
	__u32 idx = 0;
	__u64 bytes;

	if (op != REQ_OP_READ && op != REQ_OP_WRITE)
		return 0;
	bytes = KFIELD(btf, bio, bi_iter.bi_size);
	p = tgid_slot(&proc_stats, &proc_claims, &proc_used, PERFBPF_BLK_PROC_SLOT_BITS, 0,
		      PERFBPF_BLK_PROC_PROBES, tgid, true, PERFBPF_DROP_BLOCK_MAP_FULL, &idx,
		      &claimed);
	if (!p)
		return 0;
	if (claimed) {
		/* before any owner record names this slot (account_owner_latency reads it) */
		p->lat_tgid = tgid;
		asm volatile("" ::: "memory");
	}
	o = owner_slot(addr_key(bio, btf));
	if (o) {
		o->bio = addr_key(bio, btf);
		o->tgid = tgid;
		o->slot = idx;
	}
	if (op == REQ_OP_READ) {
		__sync_fetch_and_add(&p->read_bytes, bytes);
		__sync_fetch_and_add(&p->read_ios, new_request);
	} else {
		__sync_fetch_and_add(&p->write_bytes, bytes);
		__sync_fetch_and_add(&p->write_ios, new_request);
	}
	return 0;
}

BTF_OR_RAW_TP(block_getrq, on_block_getrq, account_bio(bio, 1, btf), struct bio *bio)
BTF_OR_RAW_TP(block_bio_backmerge, on_block_bio_backmerge, account_bio(bio, 0, btf),
	      struct bio *bio)
BTF_OR_RAW_TP(block_bio_frontmerge, on_block_bio_frontmerge, account_bio(bio, 0, btf),
	      struct bio *bio)
