#!/usr/bin/env bash
# Overhead of `perfbpf trace --leaks` on a malloc-heavy workload (bench/leaks/malloc_heavy.c:
# 2 M malloc/free pairs of 16-4096 B by default), against the workload alone and against
# the peers Debian packages (heaptrack, valgrind). Prints the median time of each
# configuration over REPS runs, with its ratio to the workload alone, then the same as one
# JSON object (last line).
#
# usage: sudo bench/leaks/run.sh [--quick] [--reps N] [--pairs N] [--long-pairs N]
#   --pairs       pairs for exact mode and the peers (default 2000000, as in issue 5)
#   --long-pairs  pairs for sampled and growth mode, whose targets count perfbpf's start-up
#                 and report and so are measured on a run of a second or more
#                 (default 50000000: ≈1 s alone here)
#   --quick       3 reps, 500000 / 10000000 pairs, valgrind skipped: a smoke test
# Environment: PERFBPF (default build/perfbpf), CC (default cc), METRIC=wall|cpu (default
# wall; cpu = user + system time of the command and its children, steadier on a busy host;
# the -p rows always time the target's own work). The exact -p rows: exact_pid through the
# injected interposition library (the default, --inject=auto), exact_pid_uprobes through
# uprobes in libc (--inject=never).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
perfbpf=${PERFBPF:-$root/build/perfbpf}
reps=5 pairs=2000000 long_pairs=50000000 quick=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 reps=3 pairs=500000 long_pairs=10000000 ;;
    --reps) reps=$2; shift ;;
    --pairs) pairs=$2; shift ;;
    --long-pairs) long_pairs=$2; shift ;;
    *) echo "usage: $0 [--quick] [--reps N] [--pairs N] [--long-pairs N]" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $perfbpf ]] || { echo "perfbpf not found at $perfbpf (build it or set PERFBPF)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "run as root: perfbpf loads BPF programs" >&2; exit 1; }

work=$(mktemp -d /tmp/perfbpf-bench-leaks.XXXXXX)
trap 'rm -rf "$work"' EXIT
${CC:-cc} -O2 -g -o "$work/malloc_heavy" "$here/malloc_heavy.c"
wl=$work/malloc_heavy

# Wall time of one command (its children included), seconds. With METRIC=cpu, user +
# system CPU time instead: on a shared, busy machine it is the steadier measure.
timed() {
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ) || { echo "failed: $*" >&2; return 1; }
  if [[ ${METRIC:-wall} == cpu ]]; then
    awk '{printf "%.6f\n", $2 + $3}' <<<"$t"
  else
    awk '{printf "%.6f\n", $1}' <<<"$t"
  fi
}
# The workload's own work time under `perfbpf -p` (attached while it waits 700 ms).
timed_pid() {
  local mode=$1 n=$2 pid out
  shift 2
  "$wl" "$n" 1 64 700 2>"$work/err" >/dev/null &
  pid=$!
  sleep 0.2  # past exec and the dynamic loader: libc is mapped
  "$perfbpf" trace --leaks --mode "$mode" "$@" -p "$pid" -o "$work/report.txt" 2>/dev/null &
  local tracer=$!
  wait "$pid"
  wait "$tracer" || true
  out=$(grep -o 'work_s=[0-9.]*' "$work/err" | cut -d= -f2)
  echo "$out"
}
# The same work time with nothing attached.
timed_self() {
  "$wl" "$1" 1 64 700 2>&1 >/dev/null | grep -o 'work_s=[0-9.]*' | cut -d= -f2
}

declare -A results
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
measure() {  # name, command...
  local name=$1; shift
  local samples=()
  for ((i = 0; i < reps; i++)); do samples+=("$("$@")"); done
  results[$name]=$(printf '%s\n' "${samples[@]}" | median)
  printf '  %-34s %8.3f s\n' "$name" "${results[$name]}" >&2
}

echo "perfbpf trace --leaks overhead: $reps reps, median ${METRIC:-wall} time" >&2
echo "workload: $pairs malloc/free pairs (exact, peers); $long_pairs (sampled, growth)" >&2
measure alone timed "$wl" "$pairs"
measure alone_long timed "$wl" "$long_pairs"
measure alone_work timed_self "$pairs"
measure exact_cmd timed "$perfbpf" trace --leaks --mode exact -o "$work/r" -- "$wl" "$pairs"
measure exact_pid timed_pid exact "$pairs" --inject=always
measure exact_pid_uprobes timed_pid exact "$pairs" --inject=never
measure sampled_cmd timed "$perfbpf" trace --leaks --mode sampled -o "$work/r" -- "$wl" "$long_pairs"
if "$perfbpf" trace --leaks --mode growth --duration 0.1 -o "$work/r" -- /bin/true >/dev/null 2>&1; then
  measure growth_cmd timed "$perfbpf" trace --leaks --mode growth -o "$work/r" -- "$wl" "$long_pairs"
fi
if command -v heaptrack >/dev/null; then
  measure heaptrack timed heaptrack -o "$work/heaptrack" "$wl" "$pairs"
fi
if command -v valgrind >/dev/null && [[ $quick == 0 ]]; then
  measure valgrind timed valgrind --tool=memcheck --leak-check=full "$wl" "$pairs"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo >&2
printf '%-14s %10s %8s  %s\n' config seconds ratio target >&2
json="{\"metric\": \"${METRIC:-wall}\", \"pairs\": $pairs, \"long_pairs\": $long_pairs, \"reps\": $reps, \"configs\": {"
sep=""
for name in exact_cmd exact_pid exact_pid_uprobes sampled_cmd growth_cmd heaptrack valgrind; do
  [[ -n ${results[$name]:-} ]] || continue
  case $name in
    exact_cmd) base=${results[alone]} target="<= 10x" ;;
    exact_pid|exact_pid_uprobes) base=${results[alone_work]} target="<= 30x" ;;
    sampled_cmd) base=${results[alone_long]} target="<= 1.3x" ;;
    growth_cmd) base=${results[alone_long]} target="<= 1.1x" ;;
    *) base=${results[alone]} target="peer" ;;
  esac
  r=$(ratio "${results[$name]}" "$base")
  printf '%-14s %10.3f %7sx  %s\n' "$name" "${results[$name]}" "$r" "$target" >&2
  json+="$sep\"$name\": {\"seconds\": ${results[$name]}, \"baseline_seconds\": $base, \"ratio\": $r, \"target\": \"$target\"}"
  sep=", "
done
json+="}, \"alone_seconds\": ${results[alone]}, \"alone_long_seconds\": ${results[alone_long]}}"
echo "$json"
