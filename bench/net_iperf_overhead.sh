#!/usr/bin/env bash
# Overhead of the running tool on TCP throughput: iperf3 over loopback, alternating runs
# without and with `perfbpf top --json` (all probe families) running.
# Usage: bench/net_iperf_overhead.sh [RUNS] [SECONDS] [-- IPERF3_CLIENT_ARGS...]
#   TOOL="cmd args" runs that in place of `perfbpf top --json --interval 1`.
#   e.g. bench/net_iperf_overhead.sh 4 5 -- -l 1K   (small writes: per-call cost)
# Prints per run the throughput and the throughput per CPU-second the two iperf3 processes
# used (sender + receiver, user + system, which includes the loopback softirq work they
# do): on a shared, busy machine the second is the steadier figure. Then the ratios of the
# medians (with / without).
set -euo pipefail
perfbpf=${PERFBPF:-$(dirname "$0")/../build/perfbpf}
runs=${1:-3}
secs=${2:-5}
shift $(($# < 2 ? $# : 2))
[ "${1:-}" = "--" ] && shift
tmp=$(mktemp -d)
port=$((20000 + $$ % 10000))
server=
top=
cleanup() {
    [ -n "$top" ] && kill "$top" 2>/dev/null && wait "$top" 2>/dev/null
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
iperf3 -s -p "$port" >/dev/null 2>&1 &
server=$!
sleep 0.5

gbps() {
    iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J "$@" |
        python3 -c '
import json, sys
e = json.load(sys.stdin)["end"]
bps = e["sum_received"]["bits_per_second"]
cpu = (e["cpu_utilization_percent"]["host_total"] + e["cpu_utilization_percent"]["remote_total"]) / 100
print("%.2f/%.2f" % (bps / 1e9, bps / 1e9 / cpu))'
}

without=()
with=()
for ((i = 0; i < runs; i++)); do
    without+=("$(gbps "$@")")
    ${TOOL:-"$perfbpf" top --json --interval 1} >"$tmp/top.json" 2>/dev/null &
    top=$!
    sleep 2 # loaded and attached
    with+=("$(gbps "$@")")
    kill "$top"
    wait "$top" 2>/dev/null || true
    top=
    echo "run $((i + 1)): Gbit/s / Gbit per CPU-s: without ${without[i]}, with ${with[i]}"
done
python3 - "${without[*]}" "${with[*]}" <<'PY'
import statistics, sys
for k, what in enumerate(["throughput Gbit/s", "Gbit per CPU-second"]):
    a = [float(x.split("/")[k]) for x in sys.argv[1].split()]
    b = [float(x.split("/")[k]) for x in sys.argv[2].split()]
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{what}: median without {ma:.2f}, with {mb:.2f}, ratio {mb / ma:.3f}")
PY
