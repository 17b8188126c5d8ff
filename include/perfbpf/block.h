/* Block probe family: what bpf/block.bpf.c produces. */
#ifndef PERFBPF_BLOCK_H
#define PERFBPF_BLOCK_H

#include "perfbpf/common.h"

/* Where a device's latency samples started (block_dev_stats.lat_src counts each). */
enum perfbpf_block_lat_src {
    /* rq->io_start_time_ns: the kernel stamps dispatch when the queue keeps I/O stats
     * (QUEUE_FLAG_STATS, on whenever writeback throttling or another rq-qos policy is). */
    PERFBPF_BLK_LAT_KERNEL_ISSUE = 0,
    /* issue time stamped by block_rq_issue (queues without stats) */
    PERFBPF_BLK_LAT_PROBE_ISSUE,
    /* rq->start_time_ns (allocation, includes time queued before dispatch): until the probe
     * starts stamping the device's issues, or when the request's in-flight slot was taken */
    PERFBPF_BLK_LAT_ALLOC,
    /* no start time at all: counted, not in the histogram */
    PERFBPF_BLK_LAT_NONE,
    PERFBPF_BLK_LAT_SRC_COUNT,
};

/* Requests of a device that started where one of its recent requests ended, per direction
 * (block_dev_stats.seq_ios): the ends of this many recent streams are remembered, so up to
 * as many interleaved sequential readers or writers still look sequential. */
#define PERFBPF_BLK_STREAMS 4

/* Latency histograms by what the request did (block_dev_stats.lat_hist). */
enum perfbpf_block_op_class {
    PERFBPF_BLK_OP_READ = 0,
    PERFBPF_BLK_OP_WRITE,
    PERFBPF_BLK_OP_OTHER, /* flush, discard, passthrough, ... */
    PERFBPF_BLK_OP_CLASSES,
};

/* Devices live in slots of two arrays (no hash on the per-request path): a request queue's
 * slot is found by hashing its address and probing PERFBPF_BLK_DEV_PROBES slots from there;
 * the first request of a new queue claims a free one. */
#define PERFBPF_BLK_DEV_SLOT_BITS 7
#define PERFBPF_BLK_DEV_SLOTS (1 << PERFBPF_BLK_DEV_SLOT_BITS)
#define PERFBPF_BLK_DEV_PROBES 4

/* A device's shared state, one entry per slot (map dev_stats, an array), updated at issue
 * from every CPU: the queue that owns the slot, the disk's numbers, the in-flight level and
 * sequentiality. An issue touches the first line and, for reads and writes, the second. */
struct block_dev_state {
    __u64 queue; /* the owning request_queue, as its addr_key (bpf/block.bpf.c); 0: free */
    __u32 major; /* of the whole disk (gendisk major, first_minor) */
    __u32 minor;
    __u64 generation; /* dev_generation when major/minor were last resolved */
    /* In-flight requests now (issued, not completed: the in-flight slots this disk's
     * requests own) and the highest level seen while max_epoch equalled the probe's
     * inflight_epoch: user space bumps the epoch after each read, so the next issue restarts
     * the maximum. */
    __s64 inflight;
    __s64 inflight_max;
    __u64 max_epoch;
    __u32 stamp_issues; /* 1: the queue has no io_start_time_ns; block_rq_issue stamps */
    __u32 stream_next;  /* the stream slot a request that continues none replaces next */
    __u64 pad1;
    /* second line: sequentiality, at issue */
    /* 1 + the sector after the last request of each recent stream (0: slot unused) */
    __u64 stream_end[PERFBPF_BLK_STREAMS];
    __u64 read_seq_ios; /* reads issued at a stream's end (adjacent to an earlier request) */
    __u64 write_seq_ios;
    __u64 pad2[2];
};

/* A device's completion counters, per CPU in the slot of its block_dev_state (map
 * dev_counters, a per-CPU array): only block_rq_complete writes them, and a program does
 * not nest in itself on one CPU, so plain adds on memory no other CPU writes. */
struct block_dev_counters {
    __u64 read_ios; /* requests fully completed */
    __u64 write_ios;
    __u64 other_ios;  /* flush, discard, passthrough, ... */
    __u64 read_bytes; /* completed, summed over partial completions */
    __u64 write_bytes;
    __u64 other_bytes; /* discard, write-zeroes, ... */
    __u64 lat_src[PERFBPF_BLK_LAT_SRC_COUNT];
    /* log2 µs, issue -> completion, by perfbpf_block_op_class */
    __u64 lat_hist[PERFBPF_BLK_OP_CLASSES][PERFBPF_HIST_SLOTS];
};

/* One device's cumulative totals since load as user space assembles them from its slot's
 * state and the sum of its per-CPU counters (collect/block_reader). */
struct block_dev_stats {
    __u32 major;
    __u32 minor;
    __u64 generation;
    __s64 inflight;
    __s64 inflight_max;
    __u64 max_epoch;
    __u32 stamp_issues;
    __u32 stream_next;
    __u64 read_ios;
    __u64 write_ios;
    __u64 stream_end[PERFBPF_BLK_STREAMS];
    __u64 read_seq_ios;
    __u64 write_seq_ios;
    __u64 other_ios;
    __u64 read_bytes;
    __u64 write_bytes;
    __u64 other_bytes;
    __u64 lat_src[PERFBPF_BLK_LAT_SRC_COUNT];
    __u64 lat_hist[PERFBPF_BLK_OP_CLASSES][PERFBPF_HIST_SLOTS];
};

/* Cumulative per-process (thread group) totals. Bytes and requests are attributed in the
 * submitter's context when a bio becomes a request or is merged into one; the latency of a
 * read or write request, at its completion, to whoever submitted its first bio (when the
 * probe saw that bio submitted). As user space takes them from a process's slot
 * (block_proc_slot below). */
struct block_proc_stats {
    __u64 read_bytes;
    __u64 write_bytes;
    __u64 read_ios; /* requests the process created (merged bios add bytes, not ios) */
    __u64 write_ios;
    /* log2 µs, issue -> completion, reads and writes together */
    __u64 io_lat_hist[PERFBPF_HIST_SLOTS];
};

/* Per-process entries live in the slots of an mmapable array ("proc_stats", page-aligned)
 * where a hash kept them: a bio's submission and its request's completion each looked the
 * process up by tgid (a helper call, a bucket and an element). A process's slot is found by
 * hashing its tgid and probing PERFBPF_BLK_PROC_PROBES slots; its first bio claims a free
 * one; a bio's owner record carries the slot, so the completion finds it with one array
 * lookup. The first line takes the submission's counters, the next four the histogram. */
#define PERFBPF_BLK_PROC_SLOT_BITS 14
#define PERFBPF_BLK_PROC_SLOTS (1 << PERFBPF_BLK_PROC_SLOT_BITS)
#define PERFBPF_BLK_PROC_PROBES 4

struct block_proc_slot {
    /* line 0: written by the submitting task's CPU at each bio (block_getrq, merges) */
    __u32 tgid; /* 0: free */
    __u32 pad;
    __u64 read_bytes;
    __u64 write_bytes;
    __u64 read_ios;
    __u64 write_ios;
    __u64 pad2[3];
    /* from line 1: written at completion, often on another CPU (a loop device's worker, the
     * interrupt's), so the two sides do not pass one line back and forth at every I/O */
    __u32 lat_tgid; /* tgid again, set when the slot is claimed: the completion's check */
    __u32 pad3;
    __u64 io_lat_hist[PERFBPF_HIST_SLOTS];
    __u64 pad4[7];
};

#endif
