#!/usr/bin/env bash
# The overhead benchmark of perfbpf: how much standard workloads slow down with
# `perfbpf top --json` collecting (every probe attached), against the workload alone, the
# floor (empty BPF programs of our own on the same hooks: build/bench/floor_load) and a
# Debian-packaged peer (bpftrace doing run-queue and block latency histograms); then the
# userspace throughput of the event pipeline (build/bench/pipeline_bench). Prints a
# markdown table and writes it with a JSON file to the output directory.
#
# usage: sudo bench/run.sh [--quick] [--reps N] [--only W1,W2] [--out DIR] [--no-peer]
#   --quick    every workload once each way, shorter workloads: a smoke check (< 3 min)
#   --reps     repetitions of each configuration (default 7; alternating order)
#   --only     workloads by name: sched-messaging, sched-pipe, sched-pipe-pinned,
#              fio-randread, tcp-loopback, malloc-heavy (default: all)
#   --out      where results go (default BUILD/bench-results)
#   --no-peer  leave bpftrace out
#   --prog-cost-only, --cost-reps N: only the per-program cost table (bench/prog_cost.sh)
# Environment: BUILD (default build), IPERF_ARGS (extra iperf3 client arguments, e.g.
# "-l 1K" for small writes).
#
# Everything it creates is its own and removed on every way out: a loop device (direct
# I/O) over a sparse file on /dev/shm, an iperf3 server on a loopback port, and, for the
# peer, a private mount namespace where tracefs is mounted (bpftrace 0.17 needs it; the
# host's mounts are not touched).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD:-$root/build}
[[ $build = /* ]] || build=$PWD/$build

[[ $(id -u) == 0 ]] || { echo "run.sh: run as root (perfbpf and the floor load BPF programs)" >&2; exit 1; }
for bin in perfbpf bench/floor_load bench/pipeline_bench bench/malloc_heavy; do
    [[ -x $build/$bin ]] || { echo "run.sh: $build/$bin missing: cmake --build $build" >&2; exit 1; }
done
# shellcheck source=bench/plain_build.sh
source "$here/plain_build.sh"
require_plain_build run.sh "$build"
for tool in perf fio iperf3 taskset losetup python3; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d /dev/shm/perfbpf-bench.XXXXXX)
loop=
cleanup() {
    [[ -n $loop ]] && losetup -d "$loop" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# 4k random reads over 256 MiB: a sparse file on tmpfs, so the device's speed is the
# block layer's and the loop driver's, not a host disk's.
truncate -s 256M "$work/backing"
loop=$(losetup --find --show --direct-io=on "$work/backing")
if [[ $(cat "/sys/block/${loop#/dev/}/loop/dio" 2>/dev/null) != 1 ]]; then
    echo "run.sh: $loop does not do direct I/O; fio numbers include the page cache" >&2
fi

# In the background so a signal to this script is handled at once (a foreground child
# would delay the trap until it ended); the harness stops its own processes on SIGTERM.
python3 "$here/overhead.py" --build "$build" --work "$work" --loop "$loop" "$@" &
harness=$!
stop() {
    kill -TERM "$harness" 2>/dev/null
    wait "$harness" 2>/dev/null || true
    exit "$1"
}
trap 'stop 130' INT
trap 'stop 143' TERM
wait "$harness"
