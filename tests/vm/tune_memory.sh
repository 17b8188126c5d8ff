#!/bin/sh
# Runs inside the qemu guest (scripts/vmtest.sh, pure cgroup v2): the memory tuner's
# memory.high on a test cgroup. A process in /memtest reads a 96 MiB file once (page cache
# read once stays on the inactive list: cold) and then idles, so the cgroup is cold with no
# memory pressure; `tune --auto --cgroup /memtest` must lower memory.high from "max" to
# under its use, memory.current must fall (the reclaim the verification keeps the change
# for), and --rollback must put "max" back.
# The file lives on ext4 on a brd RAM disk: on the guest's tmpfs it would be shmem, which
# without swap cannot be reclaimed (and brd's own pages are not charged to the cgroup).
# The guest has no swap, so vm.swappiness is not tuned here (the tuner leaves it alone
# without swap); its rule is covered by the unit tests (MemoryTuner.*Swappiness*).
# Self-contained helpers (fail/diagnose/watchdog/reap), as tune_scheduler.sh has.
set -u
state=/tmp/tune-state
cg=/sys/fs/cgroup/memtest
mnt=/tmp/memtest-mnt
fail() { echo "tune_memory: FAIL: $*"; exit 1; }
diagnose() {
    echo "tune_memory: processes:"; ps 2>/dev/null | tail -n 20
    echo "tune_memory: $cg:"
    for f in memory.current memory.high memory.pressure memory.events; do
        echo "  $f: $(cat $cg/$f 2>/dev/null | tr '\n' ' ')"
    done
    grep -E '^(anon|file|active_|inactive_)' $cg/memory.stat 2>/dev/null
    echo "tune_memory: kernel log:"; dmesg 2>/dev/null | tail -n 40
}
# Ends the test well before the harness's timeout, saying what hung.
script_pid=$$
(
    sleep 200
    echo "tune_memory: FAIL: still running after 200 s"
    diagnose
    kill -TERM "$script_pid"
) &
watchdog_pid=$!
# Waits up to 10 s for a process we started to end; one stuck in the kernel (D state) is a
# failure with its state shown, not a hang of the test.
reap() {
    kill "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            grep -E '^(State|Name)' /proc/"$1"/status 2>/dev/null
            diagnose
            fail "pid $1 did not end 10 s after SIGTERM"
        fi
        sleep 0.1
    done
    wait "$1" 2>/dev/null
}
stat_bytes() { awk -v k="$1" '$1 == k { print $2 }' $cg/memory.stat; }

echo "tune_memory: $(grep SwapTotal /proc/meminfo)"
grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || fail "memory controller not enabled"
modprobe brd rd_nr=1 rd_size=262144 || fail "modprobe brd"
mkfs.ext4 -q /dev/ram0 || fail "mkfs.ext4 /dev/ram0"
mkdir -p $mnt && mount -t ext4 /dev/ram0 $mnt || fail "mount /dev/ram0"
dd if=/dev/zero of=$mnt/cold bs=1M count=96 conv=fsync 2>/dev/null || fail "writing the file"
sync
echo 3 >/proc/sys/vm/drop_caches  # the guest's own: the read below brings the file in anew

mkdir $cg || fail "mkdir $cg"
[ "$(cat $cg/memory.high)" = max ] || fail "memory.high starts at $(cat $cg/memory.high)"
# Joins the cgroup, reads the file once, then idles (a populated cgroup, cold memory).
sh -c "echo \$\$ >$cg/cgroup.procs && cat $mnt/cold >/dev/null && exec sleep 300" &
holder_pid=$!
i=0
while :; do
    file=$(stat_bytes file)
    [ "${file:-0}" -ge $((90 << 20)) ] && break
    i=$((i + 1))
    [ $i -gt 300 ] && { diagnose; fail "the file did not come into $cg's page cache in 30 s"; }
    sleep 0.1
done
before=$(cat $cg/memory.current)
echo "tune_memory: before: memory.current $before, file $(stat_bytes file)," \
    "inactive_file $(stat_bytes inactive_file), anon $(stat_bytes anon)"

perfbpf tune --auto --only memory --cgroup /memtest --duration 30 --interval 0.5 --window 6 \
    --state-dir $state || { diagnose; fail "tune --auto exited $?"; }
high=$(cat $cg/memory.high)
after=$(cat $cg/memory.current)
echo "tune_memory: after: memory.high $high, memory.current $after"
status=$(perfbpf tune --status --json --state-dir $state) || fail "tune --status"
echo "$status"
[ "$high" != max ] || { diagnose; fail "memory.high is still max"; }
[ "$high" -lt "$before" ] || fail "memory.high $high is not under the use before ($before)"
# Reclaim brings memory.current down to memory.high (a few pages over at most).
[ "$after" -lt "$before" ] || fail "memory.current did not fall ($before -> $after)"
[ "$after" -le $((high + (1 << 20))) ] || fail "memory.current $after is above memory.high $high"
echo "$status" | grep -q '"knob": "/sys/fs/cgroup/memtest/memory.high"' ||
    fail "no memory.high change in the journal"
echo "$status" | grep -q '"original": "max"' || fail "the original is not max"
echo "$status" | grep -q '"outcome": "kept"' || fail "the change was not kept"
echo "$status" | grep -q '"outcome": "reverted"' && fail "a change was reverted"

perfbpf tune --rollback --state-dir $state || fail "tune --rollback exited $?"
[ "$(cat $cg/memory.high)" = max ] || fail "after rollback memory.high is $(cat $cg/memory.high)"
reap "$holder_pid"
rmdir $cg || fail "rmdir $cg"
umount $mnt
kill "$watchdog_pid" 2>/dev/null
echo "tune_memory: ok: memory.high max -> $high, memory.current $before -> $after, rolled back"
