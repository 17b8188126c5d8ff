#!/usr/bin/env bash
# Cost of the block probe family on a fast device: fio 4 KiB random reads, O_DIRECT, queue
# depth 32 (libaio) on a loop device with direct I/O over a file in /var/tmp, alternating
# runs without and with `perfbpf top --json` loading only the block family, and, when
# BASELINE=path/to/another/perfbpf is set, with that binary too (a build before a change).
# Usage: bench/block_fio_overhead.sh [RUNS] [SECONDS]
# Prints IOPS per run, then the ratios of the medians to the runs without any tool. On a
# shared machine run it several times: absolute IOPS drift by ±10 % between runs.
set -euo pipefail
perfbpf=${PERFBPF:-$(dirname "$0")/../build/perfbpf}
runs=${1:-5}
secs=${2:-5}
[ "$(id -u)" -eq 0 ] || { echo "needs root (loop device, probes)" >&2; exit 1; }
command -v fio >/dev/null || { echo "fio not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
tmp=$(mktemp -d /var/tmp/perfbpf-fio.XXXXXX)
dev=
top=
cleanup() {
    if [ -n "$top" ]; then kill "$top" 2>/dev/null || true; wait "$top" 2>/dev/null || true; fi
    [ -n "$dev" ] && losetup -d "$dev"
    rm -rf "$tmp"
}
trap cleanup EXIT
truncate -s 1G "$tmp/img"
dd if=/dev/zero of="$tmp/img" bs=1M count=1024 conv=notrunc status=none
dev=$(losetup --direct-io=on -f --show "$tmp/img")

iops() {
    fio --name=r --filename="$dev" --rw=randread --bs=4k --direct=1 --ioengine=libaio \
        --iodepth=32 --runtime="$secs" --time_based --output-format=json 2>/dev/null |
        python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))'
}
with_tool() {
    "$1" top --json --interval 1 >/dev/null 2>&1 &
    top=$!
    sleep 2 # loaded and attached
    iops
    kill "$top"
    wait "$top" 2>/dev/null || true
    top=
}

declare -A res
kinds=(none perfbpf)
[ -n "${BASELINE:-}" ] && kinds+=(baseline)
for ((i = 0; i < runs; i++)); do
    line="run $((i + 1)):"
    for k in "${kinds[@]}"; do
        case $k in
        none) v=$(iops) ;;
        perfbpf) v=$(with_tool "$perfbpf") ;;
        baseline) v=$(with_tool "$BASELINE") ;;
        esac
        res[$k]="${res[$k]:-} $v"
        line="$line $k $v"
    done
    echo "$line IOPS"
done
python3 - "${res[none]}" "${res[perfbpf]}" "${res[baseline]:-}" <<'PY'
import statistics, sys
none = statistics.median(float(x) for x in sys.argv[1].split())
for name, arg in (("perfbpf", sys.argv[2]), ("baseline", sys.argv[3])):
    if arg.split():
        m = statistics.median(float(x) for x in arg.split())
        print(f"{name}: median {m:.0f} IOPS, {m / none:.3f}x of {none:.0f} without")
PY
