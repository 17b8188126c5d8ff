#!/usr/bin/env bash
# Where `perfbpf daemon`'s own CPU goes, beside the same crowd as bench/daemon_cost.sh:
# perf samples the daemon (DWARF call graphs) for N seconds and the report groups them by
# the stage of the interval they fall in (the children's share of each stage's function),
# so each figure is a share of the daemon's own CPU time.
#
# usage: sudo bench/daemon_profile.sh [--seconds N] [--threads N] [--interval S] [--out DIR]
#   --seconds   how long perf samples (default 20)
#   --threads   threads in the crowd (default 1000), each waking every 100 ms for 50 us
#   --interval  the daemon's interval (default 0.1)
#   --out       keep perf.data and the full report there (default: a temp dir, removed)
# Everything it starts is stopped, and its temp dirs removed, on every way out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD:-$root/build}
seconds=20 threads=1000 interval=0.1 out=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --interval) interval=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) sed -n '2,12p' "$0"; exit 2 ;;
    esac
done
name=daemon_profile.sh
# shellcheck source=bench/daemon_bench_env.sh
source "$here/daemon_bench_env.sh"
command -v perf >/dev/null || { echo "daemon_profile.sh: needs perf (linux-perf)" >&2; exit 1; }

printf '[daemon]\ncpu_budget_pct = 100\n' >"$work/c.toml"
"$crowd" "$threads" 100 50 $((seconds + 40)) & pids+=($!)
sleep 2
"$bin" daemon --config "$work/c.toml" --state-dir "$work/state" --interval "$interval" \
    2>"$work/log" & d=$!; pids+=($d)
sleep 8  # start-up (probe loading, the first scans) is not the steady cost
perf record -q -F 499 --call-graph dwarf,16384 -p "$d" -o "$work/perf.data" -- sleep "$seconds" \
    2>"$work/perf.log"
perf report -i "$work/perf.data" --children --no-inline --no-demangle -g none --percent-limit 0.3 \
    --stdio 2>/dev/null | c++filt >"$work/report.txt"
[[ -n $out ]] && { mkdir -p "$out"; cp "$work/perf.data" "$work/report.txt" "$out/"; }

# The stages of one interval, by the function that runs each (a stage's share includes
# what it calls). A sample may count in two rows when one stage calls another.
stage() {  # label, regex over the symbol
    awk -v label="$1" -v re="$2" '
        $1 ~ /%$/ && $0 ~ re { v = $1; sub(/%/, "", v); if (v + 0 > best) best = v + 0 }
        END { printf "| %s | %.1f %% |\n", label, best }' "$work/report.txt"
}
printf '| stage (interval %s s, %s threads, %s s of samples) | share of own CPU |\n' \
    "$interval" "$threads" "$seconds"
printf '|---|---|\n'
stage 'collector: build the snapshot' 'Collector::build'
stage '  /proc/PID/stat of processes' 'ProcSource::collect'
stage '  per-thread sched map' 'SchedReader::collect'
stage '  ring events' 'Collector::handle_events'
stage '  TCP sockets of each namespace (sock_diag)' 'NetnsSource::read_tcp_chrono'
stage 'snapshot_series' 'snapshot_series'
stage 'span: each interval folded in' 'SeriesSpan::add'
stage 'alerts: verdicts, each interval' 'DaemonAlerts::observe'
stage 'alerts: rules, once a span' 'DaemonAlerts::on_span'
stage 'anomaly scoring, once a span' 'DaemonIncidents::on_span'
stage 'exposition (/metrics) totals, once a span' 'Exposition::update'
stage 'history append' 'History::append'
stage 'status file' 'write_status'
stage 'own RSS (/proc/self/statm)' 'own_rss_bytes'
stage 'governor measurement' 'Daemon::measure_cost'
