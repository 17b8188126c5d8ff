#!/usr/bin/env bash
# Bytes on disk per stored sample, the issue's way: `perfbpf daemon` at 1 s for an hour of
# this machine under a mixed workload, then the history it wrote taken apart
# (history_replay: SQLite's pages by table, the payload by metric, every series read back)
# and set beside Prometheus's TSDB holding the same samples (history_vs_prometheus.sh).
#
# The workload, all of it started here and stopped at the end:
#   sched  thread_crowd: 200 threads waking every 100 ms for 50 us; a short-lived
#          process every 2 s (what cron, health checks and shells make on a server)
#   block  fio random reads and writes at 300 + 100 IOPS on a loop device over a sparse
#          file on /dev/shm, and a 16 MiB write with fsync by a new process every 30 s
#   net    iperf3 at 20 Mbit/s over loopback
#
# usage: sudo bench/history_hour.sh [--minutes N] [--keep DIR]
#   --minutes  how long the daemon collects (default 60)
#   --keep     copy the state dir (history.db, status) to DIR, for history_replay later
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD:-$root/build}
minutes=60 keep=
while [[ $# -gt 0 ]]; do
    case $1 in
        --minutes) minutes=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        *) sed -n '2,17p' "$0"; exit 2 ;;
    esac
done
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 1 ]] || { echo "history_hour.sh: --minutes wants a whole number >= 1" >&2; exit 2; }
[[ -z $keep || ! -e $keep ]] || { echo "history_hour.sh: --keep $keep exists" >&2; exit 2; }
name=history_hour.sh
for tool in fio iperf3 losetup python3; do
    command -v "$tool" >/dev/null || { echo "$name: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
# shellcheck source=bench/daemon_bench_env.sh
source "$here/daemon_bench_env.sh"
replay=$build/bench/history_replay
[[ -x $replay ]] || { echo "$name: $replay missing (cmake --build build)" >&2; exit 1; }
secs=$((minutes * 60))
shm=$(mktemp -d /dev/shm/perfbpf-history-hour.XXXXXX)
loop=
stop_all() {
    cleanup
    [[ -n $loop ]] && losetup -d "$loop" 2>/dev/null
    rm -rf "$shm"
}
trap stop_all EXIT

truncate -s 1G "$shm/backing"
loop=$(losetup --find --show --direct-io=on "$shm/backing")
port=$((20000 + RANDOM % 20000))
state=$work/state
mkdir -p "$state"
# The governor must not lengthen the interval: the measure is of a history at 1 s.
printf '[daemon]\ncpu_budget_pct = 100\n' >"$work/c.toml"
"$bin" daemon --config "$work/c.toml" --state-dir "$state" --interval 1 2>"$work/daemon.log" &
daemon=$!; pids+=("$daemon")
sleep 3

"$crowd" 200 100 50 $((secs + 10)) & pids+=($!)
fio --name=mix --filename="$loop" --direct=1 --ioengine=libaio --rw=randrw --rwmixread=75 \
    --bs=4k --iodepth=4 --rate_iops=300,100 --time_based --runtime="$secs" \
    --output=/dev/null & pids+=($!)
iperf3 -s -p "$port" -1 >/dev/null 2>&1 & pids+=($!)
sleep 1
iperf3 -c 127.0.0.1 -p "$port" -b 20M -t "$secs" >/dev/null 2>&1 & pids+=($!)
(
    end=$((SECONDS + secs)) n=0
    while ((SECONDS < end)); do
        sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done'
        if ((n++ % 15 == 0)); then
            dd if=/dev/zero of="$shm/dd" bs=1M count=16 conv=fsync status=none
        fi
        sleep 2
    done
) & pids+=($!)

echo "$name: collecting for $minutes min (daemon pid $daemon, state $state)" >&2
sleep "$secs"
kill -TERM "$daemon"; wait "$daemon" || { echo "$name: the daemon failed:" >&2; tail -20 "$work/daemon.log" >&2; exit 1; }
grep -E "error|warn" "$work/daemon.log" | head -5 >&2 || true

[[ -z $keep ]] || { cp -a "$state" "$keep"; echo "$name: state kept in $keep" >&2; }
python3 - "$state" <<'PY'
import json, os, sys
state = sys.argv[1]
h = json.load(open(os.path.join(state, "daemon.status.json")))["history"]
size = os.path.getsize(os.path.join(state, "history.db"))
print(f"history.db: {size} B for {h['samples']} samples: {size / h['samples']:.3f} B/sample")
PY
# Opening a history upgrades it in place: history_replay gets a copy.
cp -a "$state" "$work/src"
"$replay" "$work/src" "$work/replay"
"$here/history_vs_prometheus.sh" "$state" --since "$((minutes + 10))m"
