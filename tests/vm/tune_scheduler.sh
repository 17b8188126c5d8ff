#!/bin/sh
# Runs inside the qemu guest (scripts/vmtest.sh): the block-io tuner's scheduler choice on a
# device of the guest's own (null_blk), which the host never has. The device starts on bfq;
# under 4 KiB random direct reads a virtual device needs no scheduler, so `tune --auto`
# must switch it to none and verify the change on requests per second; --rollback then
# puts bfq back. Usage: tune_scheduler.sh BLK_READER
set -u
reader=$1
state=/tmp/tune-state
name=tune_scheduler
. "$(dirname "$0")/lib.sh"
watchdog 150

modprobe null_blk nr_devices=1 gb=1 || fail "modprobe null_blk"
modprobe bfq || fail "modprobe bfq"
dev=nullb0
sched=/sys/block/$dev/queue/scheduler
[ -e "$sched" ] || fail "no $dev"
echo bfq >"$sched" || fail "cannot select bfq"
grep -q '\[bfq\]' "$sched" || fail "bfq not selected: $(cat "$sched")"

# tune attaches its probes before the reader starts and detaches them after it stopped:
# attaching and detaching patch the tracepoint sites the reader's every submission runs
# through (submit_bio), and in this 6.1 guest under TCG a vCPU was left spinning at such a
# site with the other waiting on it: at detach twice (soft lockup, 2 of 4 fresh-root runs
# of 2026-12-06), at attach once (CI of 2026-12-07: the whole guest stopped, the watchdog
# included, until the harness killed it at 300 s). "watching" is printed once the probes
# are attached.
log=/tmp/tune-auto.log
perfbpf tune --auto --device $dev --duration 25 --interval 0.5 --window 6 --state-dir $state \
    >"$log" 2>&1 &
tune_pid=$!
wait_until 300 "tune watching within 30 s" grep -q 'tune: watching' "$log"
# One reader thread, bounded to a little more than the tune run: with none the
# null_blk device completes requests as fast as a vCPU can issue them, and under TCG four
# readers once starved the guest (a CI run stalled until the harness killed it). One
# thread leaves a vCPU for perfbpf and still shows bfq's cost per request.
"$reader" dio-rand /dev/$dev 35 1 >/dev/null &
reader_pid=$!
# The reader stops once the change's verification has its outcome, before tune exits.
wait_until 300 "an outcome of the scheduler change within 30 s" grep -qE 'tune: (kept|reverted) ' "$log"
reap "$reader_pid"
# tune ends at its --duration (the watchdog bounds a hang)
wait "$tune_pid"
rc=$?
cat "$log"
[ $rc -eq 0 ] || fail "tune --auto exited $rc"
status=$(perfbpf tune --status --json --state-dir $state) || fail "tune --status"
echo "$status"
echo "$status" | grep -q '"knob": "/sys/block/nullb0/queue/scheduler"' || fail "no scheduler change in the journal"
echo "$status" | grep -q '"applied": "none"' || fail "the change was not to none"
echo "$status" | grep -q '"original": "bfq"' || fail "the original is not bfq"
# bfq costs a virtual device far more per request than the noise here (6x fewer requests
# per second under TCG), so the verification must keep the change.
echo "$status" | grep -q '"outcome": "kept"' || fail "the change was not kept"
grep -q '\[none\]' "$sched" || fail "kept, but the scheduler is $(cat "$sched")"
perfbpf tune --rollback --state-dir $state || fail "tune --rollback exited $?"
grep -q '\[bfq\]' "$sched" || fail "after rollback the scheduler is $(cat "$sched")"
kill "$watchdog_pid" 2>/dev/null
echo "tune_scheduler: ok"
