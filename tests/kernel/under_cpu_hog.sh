#!/usr/bin/env bash
# Issue 12: the smoke checks users run on busy machines must not depend on timing. Runs the
# whole selftest and the leak plateau test beside CPU hogs of this script's own
# (four `yes`, twice the CPUs of a 2-vCPU CI machine), killed by pid on the way out.
# usage: under_cpu_hog.sh PERFBPF KERNEL_TESTS [HOGS]
set -euo pipefail
perfbpf=$1
kernel_tests=$2
hogs=${3:-4}
if [ "$(id -u)" != 0 ]; then
    echo "under_cpu_hog: needs root (probes); skipped"
    exit 77
fi
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq "$hogs"); do
    yes >/dev/null &
    pids+=($!)
done
echo "under_cpu_hog: $hogs hogs (pids ${pids[*]}), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$perfbpf" selftest
"$kernel_tests" --gtest_filter='LeaksGrowth.NamesTheLeakAndCallsTheCachePlateau'
echo "under_cpu_hog: load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
