#!/usr/bin/env bash
# What `perfbpf daemon` costs beside a crowd of threads: its own CPU (user + system, from
# /proc/PID/stat over the whole run), its BPF programs' run time (the daemon's own
# measurement: kernel BPF statistics over a window of each governor period), its RSS
# (sampled every 5 s; the slope says whether it grows) and the history's bytes on disk
# per stored sample. Runs at 1 s and at 0.1 s.
#
# usage: sudo bench/daemon_cost.sh [--seconds N] [--threads N] [--intervals "1 0.1"]
#                                  [--crowd "PERIOD_MS WORK_US"]
#   --seconds   how long each run lasts (default 120; the issue's RSS check is an hour)
#   --threads   threads in the crowd (default 1000), each waking every 100 ms for 50 us
#   --crowd     each thread's period and work instead ("1 1000000": always runnable)
# Everything it starts is stopped, and its temp dirs removed, on every way out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD:-$root/build}
seconds=120 threads=1000 intervals="1 0.1" crowd_args="100 50"
while [[ $# -gt 0 ]]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --intervals) intervals=$2; shift 2 ;;
        --crowd) crowd_args=$2; shift 2 ;;
        *) sed -n '2,13p' "$0"; exit 2 ;;
    esac
done
name=daemon_cost.sh
# shellcheck source=bench/daemon_bench_env.sh
source "$here/daemon_bench_env.sh"

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

printf '| interval | own CPU %% of one core | BPF %% of one core | total | RSS MiB (start-end) | RSS slope KiB/min | history B/sample |\n'
printf '|---|---|---|---|---|---|---|\n'
for iv in $intervals; do
    state=$work/state-$iv
    mkdir -p "$state"
    # The governor measures every period; a budget no run reaches keeps it from shedding.
    period=$(( seconds / 4 > 5 ? seconds / 4 : 5 ))
    printf '[daemon]\ncpu_budget_pct = 100\ngovernor_period = %s\n' "$period" >"$work/c.toml"
    # shellcheck disable=SC2086  # two numbers
    "$crowd" "$threads" $crowd_args $((seconds + 30)) & pids+=($!)
    sleep 2
    "$bin" daemon --config "$work/c.toml" --state-dir "$state" --interval "$iv" 2>"$work/log-$iv" &
    d=$!; pids+=($d)
    sleep 5  # start-up (probe loading) is not the steady cost
    c0=$(cpu_ticks "$d"); t0=$(date +%s.%N)
    samples=()
    for ((s = 0; s < seconds; s += 5)); do samples+=("$s $(rss_kib "$d")"); sleep 5; done
    c1=$(cpu_ticks "$d"); t1=$(date +%s.%N)
    status=$state/daemon.status.json
    kill -TERM "$d"; wait "$d" || true
    python3 - "$c0" "$c1" "$t0" "$t1" "$ticks" "$status" "$iv" "${samples[@]}" <<'PY'
import json, sys
c0, c1, t0, t1, ticks = (float(x) for x in sys.argv[1:6])
status = json.load(open(sys.argv[6]))
iv = sys.argv[7]
pts = [tuple(map(float, s.split())) for s in sys.argv[8:]]
own = 100 * (c1 - c0) / ticks / (t1 - t0)
bpf = status["governor"]["bpf_pct"] or 0.0
n = len(pts)
mx = sum(p[0] for p in pts) / n; my = sum(p[1] for p in pts) / n
den = sum((p[0] - mx) ** 2 for p in pts) or 1
slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / den * 60
h = status["history"]
per = f'{h["bytes"] / h["samples"]:.2f}' if h["samples"] else None
print(f"| {iv} s | {own:.2f} | {bpf:.2f} | {own + bpf:.2f} | {pts[0][1]/1024:.1f}-{pts[-1][1]/1024:.1f} "
      f"| {slope:+.1f} | {per if per is not None else '-'} |")
PY
    kill "${pids[0]}" 2>/dev/null || true; wait "${pids[0]}" 2>/dev/null || true
    pids=()
done
