#!/usr/bin/env bash
# Coverage of sampled mode's 95 % interval (issue 13, item 4): for each real program
# (real_programs.sh), the exact outstanding bytes at exit from one exact-mode run (every
# stack plus the unattributed), then sampled mode with seeds 1..SEEDS at the default rate:
# how many of the runs' intervals (the JSON's `outstanding`: the whole program's estimate,
# bytes_lo..bytes_hi) hold the exact figure, over all seeds and over the seeds that sampled
# anything. One Markdown table, then one JSON line per program.
#
# usage: sudo bench/leaks/sampled_coverage.sh [--seeds N] [--sample-bytes N] [--inserts N]
#                                             [--dict N] [--only NAME]
# Environment: PERFBPF (default build/perfbpf).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
perfbpf=${PERFBPF:-$root/build/perfbpf}
seeds=10 sample_bytes=
# shellcheck source=real_programs.sh
source "$here/real_programs.sh"
while [[ $# -gt 0 ]]; do
  real_programs_option "$1" "${2:-}" && { shift 2; continue; }
  case $1 in
    --seeds) seeds=$2 ;;
    --sample-bytes) sample_bytes=$2 ;;
    *) echo "usage: $0 [--seeds N] [--sample-bytes N] [--inserts N] [--dict N] [--only NAME]" >&2; exit 2 ;;
  esac
  shift 2
done
real_programs_setup "$perfbpf" "$inserts" "$dict"
rate=()
[[ -n $sample_bytes ]] && rate=(--sample-bytes "$sample_bytes")

echo "| program | exact outstanding (B) | covered, all seeds | seeds that sampled anything | covered among them | intervals (B) |"
echo "|---|---|---|---|---|---|"
json_lines=()
for name in "${real_program_names[@]}"; do
  [[ -n $only && $only != "$name" ]] && continue
  command -v "${cmds[$name]%% *}" >/dev/null || { echo "$name: not installed, skipped" >&2; continue; }
  # Without -r: "\\ " in a command line is a space inside a word (real_programs.sh).
  # shellcheck disable=SC2162
  read -a argv <<<"${cmds[$name]}"
  "$perfbpf" trace --leaks --mode exact --json -o "$work/$name.exact.json" -- "${argv[@]}" \
    >/dev/null 2>"$work/err" || { echo "exact run of $name failed" >&2; cat "$work/err" >&2; continue; }
  for ((seed = 1; seed <= seeds; seed++)); do
    "$perfbpf" trace --leaks --mode sampled --seed "$seed" "${rate[@]}" --json \
      -o "$work/$name.$seed.json" -- "${argv[@]}" >/dev/null 2>"$work/err" ||
      { echo "sampled run of $name (seed $seed) failed" >&2; cat "$work/err" >&2; }
  done
  python3 - "$name" "$seeds" "$work" <<'PY'
import json, sys
name, seeds, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
exact = json.load(open(f"{work}/{name}.exact.json"))
truth = sum(s["outstanding_bytes"] for s in exact["stacks"]) + exact["unattributed"]["outstanding_bytes"]
covered = sampled = covered_sampled = runs = 0
ivs = []
for seed in range(1, seeds + 1):
    try:
        r = json.load(open(f"{work}/{name}.{seed}.json"))
    except (OSError, ValueError):
        continue
    runs += 1
    o = r["outstanding"]
    inside = o["bytes_lo"] <= truth <= o["bytes_hi"]
    covered += inside
    if o["samples"] > 0:
        sampled += 1
        covered_sampled += inside
    ivs.append(f"{o['bytes_lo']}-{o['bytes_hi']}" + ("" if inside else " (miss)"))
print(f"| {name} | {truth:,} | {covered}/{runs} | {sampled} | {covered_sampled}/{sampled} | {'; '.join(ivs)} |")
with open(f"{work}/lines", "a") as f:
    f.write(json.dumps({"program": name, "exact_outstanding": truth, "runs": runs,
                        "covered": covered, "sampled_runs": sampled,
                        "covered_sampled": covered_sampled}) + "\n")
PY
done
[[ -f $work/lines ]] && cat "$work/lines"
