#!/bin/sh
# Runs inside the qemu guest (scripts/vmtest.sh): the memory tuner's vm.swappiness, a
# host-wide knob, so only here. The guest gets swap (a swap file) and swappiness 0; in a
# cgroup limited to 128 MiB a process holds 64 MiB of anonymous memory it never touches again
# while another reads a 96 MiB file over and over. Reclaim in a cgroup with swappiness 0
# takes page cache only, which the reader needs back at once (page-cache refaults), while
# the cold anonymous memory stays. (At swappiness 10 the kernel balanced this itself within
# seconds from the refault costs: 34 MiB swapped out, refaults gone, nothing to tune.)
# `tune --plan` must propose raising swappiness from that evidence and change nothing;
# `tune --auto` must apply 0 -> 20 and keep it on the refault rate; --rollback must put 0 back.
# The raise takes effect only once reclaim has swapped out the cold anonymous memory the file
# needs room from (34 MiB): under TCG, with no perfbpf running, the refaults stayed at
# 35-45k/s for 3.9 s after the write and were 0 from then on; beside an ASan+UBSan perfbpf
# (half a CPU of the guest's two) for 4.6 s, then 0. With tune's default settle (one
# interval) the 3 s after-window fell inside that transition (34.6k -> 31.3k/s, reverted as
# noise, with either build at host load 6), so --settle skips 8 s, the transition measured
# under load with room to spare. Each `tune --auto` run is traced once a second (trace_line).
# Usage: tune_swappiness.sh MEMTOUCH
set -u
memtouch=$1
state=/tmp/tune-swap-state
cg=/sys/fs/cgroup/swaptest
mnt=/tmp/swaptest-mnt
start=0
name=tune_swappiness
. "$(dirname "$0")/lib.sh"
show_memory() {
    echo "$name: vm.swappiness $(cat /proc/sys/vm/swappiness);" \
        "$(grep -E '^Swap(Total|Free)' /proc/meminfo | tr -s ' \n' ' ')"
    grep -E '^(workingset_refault_(anon|file)|pswp(in|out)) ' /proc/vmstat
    for f in memory.current memory.max memory.swap.current memory.pressure; do
        echo "  $f: $(cat $cg/$f 2>/dev/null | tr '\n' ' ')"
    done
}
diagnose_extra=show_memory
# One awk a second (forks are slow under TCG): the reader's CPU ($cg's cpu.stat), $cg's file
# refaults and swap, reclaim outside the cgroup (kswapd and direct scans), the guest's
# available memory, perfbpf's RSS and CPU ticks: what tells a knob without effect from a
# starved reader, global memory pressure or a window inside the swap-out.
trace_line() {
    tp=$(pidof perfbpf | cut -d' ' -f1)
    awk '
        FILENAME == "/proc/uptime" { t = $1 }
        FILENAME == "/proc/sys/vm/swappiness" { swp = $1 }
        FILENAME ~ /cpu.stat$/ && $1 == "usage_usec" { cpu = $2 }
        FILENAME ~ /memory.stat$/ && $1 == "workingset_refault_file" { rf = $2 }
        FILENAME ~ /memory.swap.current$/ { sw = $1 }
        FILENAME == "/proc/meminfo" && $1 == "MemAvailable:" { avail = $2 }
        FILENAME == "/proc/vmstat" && $1 ~ /^pgscan_(kswapd|direct)$/ { scan += $2 }
        FILENAME ~ /status$/ && $1 == "VmRSS:" { rss = $2 }
        FILENAME ~ /[0-9]\/stat$/ { ticks = $14 + $15 }
        END { printf "t=%s swappiness=%s cg_cpu_us=%s cg_refault_file=%s cg_swap_kb=%d " \
                  "avail_kb=%s global_scan=%d perfbpf_rss_kb=%s perfbpf_ticks=%s\n",
                  t, swp, cpu, rf, sw / 1024, avail, scan, rss, ticks }' \
        /proc/uptime /proc/sys/vm/swappiness $cg/cpu.stat $cg/memory.stat $cg/memory.swap.current \
        /proc/meminfo /proc/vmstat ${tp:+/proc/$tp/status /proc/$tp/stat} 2>/dev/null
}
watchdog 200

# Swap and the file on a RAM disk (zram finds no compressor among the guest's modules).
ramdisk_ext4 512 $mnt
dd if=/dev/zero of=$mnt/swap bs=1M count=256 conv=fsync 2>/dev/null || fail "writing the swap file"
chmod 600 $mnt/swap
mkswap $mnt/swap >/dev/null || fail "mkswap"
swapon $mnt/swap || fail "swapon $mnt/swap"
echo $start >/proc/sys/vm/swappiness
uncached_file $mnt/data 96 # the reader brings it in, charged to $cg

mkdir $cg || fail "mkdir $cg"
echo $((128 << 20)) >$cg/memory.max || fail "memory.max"
sh -c "echo \$\$ >$cg/cgroup.procs && exec $memtouch 64 0 300" >/dev/null &
anon_pid=$!
anon_in() { [ "$(stat_bytes anon)" -ge $((63 << 20)) ]; }
wait_until 300 "the 64 MiB did not come in within 30 s" anon_in
sh -c "echo \$\$ >$cg/cgroup.procs && while :; do cat $mnt/data >/dev/null; done" &
reader_pid=$!
sleep 3
show_memory

plan=$(perfbpf tune --plan --json --only memory --duration 5 --interval 0.5 \
    --state-dir $state.plan) || { diagnose; fail "tune --plan exited $?"; }
echo "$plan"
echo "$plan" | grep -q '"knob": "vm.swappiness"' || { diagnose; fail "no swappiness in the plan"; }
echo "$plan" | grep -q "\"proposed\": \"$((start + 20))\"" || fail "not $start -> $((start + 20))"
[ "$(cat /proc/sys/vm/swappiness)" = $start ] || fail "the plan changed vm.swappiness"

(while :; do trace_line; sleep 1; done) >/tmp/trace 2>&1 &
trace_pid=$!
perfbpf tune --auto --only memory --duration 30 --interval 0.5 --window 6 --settle 16 \
    --state-dir $state || { diagnose; fail "tune --auto exited $?"; }
reap $trace_pid
sed "s/^/$name: trace: /" /tmp/trace
applied=$(cat /proc/sys/vm/swappiness)
status=$(perfbpf tune --status --json --state-dir $state) || fail "tune --status"
echo "$status"
show_memory
echo "$status" | grep -q '"knob": "vm.swappiness"' || fail "swappiness is not in the journal"
echo "$status" | grep -q "\"original\": \"$start\"" || fail "the original is not $start"
echo "$status" | grep -q '"outcome": "kept"' || { diagnose; fail "the raise was not kept"; }
[ "$applied" = $((start + 20)) ] || fail "kept, but vm.swappiness is $applied"
swapped=$(cat $cg/memory.swap.current)
[ "$swapped" -gt 0 ] || { diagnose; fail "nothing of $cg was swapped out at swappiness $applied"; }

perfbpf tune --rollback --state-dir $state || fail "tune --rollback exited $?"
[ "$(cat /proc/sys/vm/swappiness)" = $start ] ||
    fail "after rollback vm.swappiness is $(cat /proc/sys/vm/swappiness)"

reap "$reader_pid"
reap "$anon_pid"
emptied() { [ -z "$(cat $cg/cgroup.procs)" ]; } # the reader's last cat finishes its file
wait_until 100 "processes left in $cg" emptied
rmdir $cg || fail "rmdir $cg"
swapoff $mnt/swap
umount $mnt
kill "$watchdog_pid" 2>/dev/null
echo "$name: ok: vm.swappiness $start -> $((start + 20)) proposed from page-cache refaults," \
    "applied and kept ($swapped bytes of $cg swapped out), rolled back to $start"
