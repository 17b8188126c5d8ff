#!/bin/sh
# Runs inside the qemu guest (scripts/vmtest.sh): the block-io tuner's scheduler choice on a
# device of the guest's own (null_blk), which the host never has. The device starts on bfq;
# under 4 KiB random direct reads a virtual device needs no scheduler, so `tune --auto`
# must switch it to none and verify the change on requests per second; --rollback then
# puts bfq back. Usage: tune_scheduler.sh BLK_READER
set -u
reader=$1
state=/tmp/tune-state
fail() { echo "tune_scheduler: FAIL: $*"; exit 1; }

modprobe null_blk nr_devices=1 gb=1 || fail "modprobe null_blk"
modprobe bfq || fail "modprobe bfq"
dev=nullb0
sched=/sys/block/$dev/queue/scheduler
[ -e "$sched" ] || fail "no $dev"
echo bfq >"$sched" || fail "cannot select bfq"
grep -q '\[bfq\]' "$sched" || fail "bfq not selected: $(cat "$sched")"

"$reader" dio-rand /dev/$dev 60 4 >/dev/null &
reader_pid=$!
perfbpf tune --auto --device $dev --duration 25 --interval 0.5 --window 6 --state-dir $state ||
    fail "tune --auto exited $?"
status=$(perfbpf tune --status --json --state-dir $state) || fail "tune --status"
echo "$status"
echo "$status" | grep -q '"knob": "/sys/block/nullb0/queue/scheduler"' || fail "no scheduler change in the journal"
echo "$status" | grep -q '"applied": "none"' || fail "the change was not to none"
echo "$status" | grep -q '"original": "bfq"' || fail "the original is not bfq"
# bfq costs a virtual device far more per request than the noise here (6x fewer requests
# per second under TCG), so the verification must keep the change.
echo "$status" | grep -q '"outcome": "kept"' || fail "the change was not kept"
grep -q '\[none\]' "$sched" || fail "kept, but the scheduler is $(cat "$sched")"
kill "$reader_pid"
wait "$reader_pid" 2>/dev/null
perfbpf tune --rollback --state-dir $state || fail "tune --rollback exited $?"
grep -q '\[bfq\]' "$sched" || fail "after rollback the scheduler is $(cat "$sched")"
echo "tune_scheduler: ok"
