#!/bin/sh
# Runs inside the qemu guest (scripts/vmtest.sh): the memory tuner's vm.swappiness, a
# host-wide knob, so only here. The guest gets swap (a swap file) and swappiness 0; in a
# cgroup limited to 128 MiB a process holds 64 MiB of anonymous memory it never touches again
# while another reads a 96 MiB file over and over. Reclaim in a cgroup with swappiness 0
# takes page cache only, which the reader needs back at once (page-cache refaults), while
# the cold anonymous memory stays. (At swappiness 10 the kernel balanced this itself within
# seconds from the refault costs: 34 MiB swapped out, refaults gone, nothing to tune.)
# `tune --plan` must propose raising swappiness from that evidence and change nothing;
# `tune --auto` must apply 0 -> 20 and keep it on the refault rate (measured 53626 -> 23542
# and 59923 -> 24501 refaults/s, a fall of 3-4k needed); --rollback must put 0 back.
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

perfbpf tune --auto --only memory --duration 15 --interval 0.5 --window 6 \
    --state-dir $state || { diagnose; fail "tune --auto exited $?"; }
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
