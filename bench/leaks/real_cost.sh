#!/usr/bin/env bash
# What tracing leaks costs on real Debian programs (issue 13): CPU time (user + system of
# the whole command tree: the tracer and its target) and wall time of each program alone,
# under `perfbpf trace --leaks --mode exact`, under heaptrack and under valgrind memcheck
# (when installed), the median of --reps runs each, and the ratio to alone. One Markdown
# table, then one JSON line per program.
#
# usage: sudo bench/leaks/real_cost.sh [--reps N] [--inserts N] [--dict N] [--only NAME]
#   --reps     runs of each (default 3; the median is shown)
#   --inserts  INSERTs for sqlite3 (default 20000; the issue's case is 200000)
#   --dict     entries of the Python dict (default 100000)
#   --only     one program (names in real_programs.sh)
# Environment: PERFBPF (default build/perfbpf).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
perfbpf=${PERFBPF:-$root/build/perfbpf}
reps=3
# shellcheck source=real_programs.sh
source "$here/real_programs.sh"
while [[ $# -gt 0 ]]; do
  real_programs_option "$1" "${2:-}" && { shift 2; continue; }
  if [[ $1 == --reps && -n ${2:-} ]]; then reps=$2; shift 2; continue; fi
  echo "usage: $0 [--reps N] [--inserts N] [--dict N] [--only NAME]" >&2
  exit 2
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "--reps wants a positive number" >&2; exit 2; }
real_programs_setup "$perfbpf" "$inserts" "$dict"

# "cpu_s wall_s" of one run of the command in argv, its output discarded: the CPU of every
# process it waited for (RUSAGE_CHILDREN), so a tracer's own time counts.
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f" % (ru.ru_utime + ru.ru_stime, wall))
PY
}

# The median "cpu wall" of $reps runs.
median_of() {
  local runs=()
  for ((r = 0; r < reps; r++)); do runs+=("$(measure "$@")"); done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(((reps + 1) / 2))p"
}

tools=(alone perfbpf)
command -v heaptrack >/dev/null && tools+=(heaptrack)
command -v valgrind >/dev/null && tools+=(valgrind)

header="| program |"
sep="|---|"
for t in "${tools[@]}"; do header+=" $t CPU s (wall) |"; sep+="---|"; done
echo "$header"
echo "$sep"
json_lines=()
for name in "${real_program_names[@]}"; do
  command -v "${cmds[$name]%% *}" >/dev/null || { echo "$name: not installed, skipped" >&2; continue; }
  [[ -n $only && $only != "$name" ]] && continue
  # Without -r: "\\ " in a command line is a space inside a word (real_programs.sh).
  # shellcheck disable=SC2162
  read -a argv <<<"${cmds[$name]}"
  row="| $name |"
  json="{\"program\": \"$name\""
  base=
  for t in "${tools[@]}"; do
    case $t in
      alone) cmd=("${argv[@]}") ;;
      perfbpf) cmd=("$perfbpf" trace --leaks --mode exact --json -o "$work/$name.json" -- "${argv[@]}") ;;
      heaptrack) cmd=(heaptrack -o "$work/$name.heaptrack" "${argv[@]}") ;;
      valgrind) cmd=(valgrind --leak-check=full --run-libc-freeres=no --run-cxx-freeres=no
                     --log-file="$work/$name.vg" "${argv[@]}") ;;
    esac
    read -r cpu wall < <(median_of "${cmd[@]}")
    [[ $t == alone ]] && base=$cpu
    ratio=$(python3 -c "import sys; b=float(sys.argv[2]); print('%.1fx' % (float(sys.argv[1]) / b) if b > 0 else 'n/a')" "$cpu" "$base")
    if [[ $t == alone ]]; then row+=" $cpu ($wall) |"; else row+=" $cpu ($wall), $ratio |"; fi
    json+=", \"$t\": {\"cpu_s\": $cpu, \"wall_s\": $wall}"
  done
  echo "$row"
  json_lines+=("$json}")
done
printf '%s\n' "${json_lines[@]}"
