// The sched family's per-thread slots (include/perfbpf/sched.h): a slot's counters turned
// into the thread's totals. Pure, so unit tests and the fuzz target drive it.
#pragma once

#include <cstdint>

#include "perfbpf/sched.h"

namespace perfbpf {

// The totals of a slot user space copied out of the mapping; false for a slot whose
// thread is not counted yet (claimed, base not set). A slot whose counters are below its
// base (a torn copy of a slot being claimed) is refused the same way.
bool decode_thread_slot(const sched_thread_slot& slot, sched_task_stats& out);

// True once the thread's final switch-out was counted: the slot is read one last time,
// then freed.
inline bool thread_slot_dead(const sched_thread_slot& slot) {
    return (slot.tag & PERFBPF_THREAD_DEAD) != 0;
}

}  // namespace perfbpf
