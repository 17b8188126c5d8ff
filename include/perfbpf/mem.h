/* Memory probe family: what bpf/mem.bpf.c produces. */
#ifndef PERFBPF_MEM_H
#define PERFBPF_MEM_H

#include "perfbpf/common.h"

/* Resident pages of one process (thread group), in the mmap-able ARRAY "rss" indexed by
 * tgid (sized pid_max at load). rss_pages is file + anon + shmem pages (the kernel's
 * get_mm_rss()) as of the process's last RSS counter change; peak_pages is the highest
 * level since user space last reset it (it sets peak_pages = rss_pages after each read
 * with a compare-and-swap on the whole 8 bytes). {0, 0}: no process, or one with no
 * user memory. Written by the process's own counter changes (kmem:rss_stat), by changes
 * other tasks make to its memory (reclaim, ptrace), at fork, and cleared at exit. */
struct mem_rss_slot {
    __u32 rss_pages;
    __u32 peak_pages;
};

/* One record per process exit, in the hash "exits" (key: tgid); user space deletes it
 * once read. A tgid beyond the "rss" array or a full "exits" map counts as
 * PERFBPF_DROP_MEM_MAP_FULL. */
struct mem_exit {
    __u32 tgid;
    __u32 rss_pages;  /* resident pages just before its memory was torn down */
    __u32 peak_pages; /* highest level since the last reset of its slot */
    __s32 exit_code;
    __u64 minflt; /* the process's lifetime fault totals, as /proc/PID/stat counts them */
    __u64 majflt;
    __u64 ts_ns;
    char comm[PERFBPF_COMM_LEN];
};

#endif
