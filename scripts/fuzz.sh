#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz (or
# $PERFBPF_FUZZ_BUILD_DIR: ctest's `fuzz` test uses one in its build dir) and runs each for
# SECONDS (default 60). A crash, leak or timeout is copied into
# tests/fuzz/regressions/NAME/, which unit_tests replays (FuzzInputs.*); the script then
# exits 1. New coverage found is kept in BUILD/corpus/NAME, not in the repository.
# usage: scripts/fuzz.sh [SECONDS [NAME...]]   (NAME: config recording journal procfs mounts events)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(config recording journal procfs mounts events)
cxx="${FUZZ_CXX:-clang++-16}"
cc="${FUZZ_CC:-clang-16}"
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (apt-get install clang-16 libclang-rt-16-dev)" >&2; exit 2; }
out="${PERFBPF_FUZZ_BUILD_DIR:-build-fuzz}"
cmake -S . -B "$out" -DPERFBPF_FUZZ=ON -DPERFBPF_BUILD_BENCH=OFF \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out" -j"$(nproc)" --target "${names[@]/#/fuzz_}"
echo "fuzz.sh: targets built in $SECONDS s"
# The targets run $(nproc) at a time: each is one process on one core, and CI's clock is what
# the fuzz test costs (six targets one after another took 360 s of its time).
run_one() {
  local name=$1 work="$out/corpus/$1" artifacts="$out/artifacts/$1"
  rm -rf "$artifacts"
  mkdir -p "$work" "$artifacts"
  # -rss_limit_mb: the readers' own limits (journal 256 MB, recording 1 GB) are larger than
  # any input libFuzzer makes; an allocation beyond this is a bug.
  "$out/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$name" >"$out/fuzz_$name.log" 2>&1
}
declare -A status=() pid_name=()
trap 'for p in "${!pid_name[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
jobs_at_once=$(nproc)
next=0
while [[ $next -lt ${#names[@]} || ${#pid_name[@]} -gt 0 ]]; do
  if [[ $next -lt ${#names[@]} && ${#pid_name[@]} -lt $jobs_at_once ]]; then
    name=${names[$next]}
    next=$((next + 1))
    echo "== fuzz_$name for ${seconds}s"
    run_one "$name" &
    pid_name[$!]=$name
    continue
  fi
  done_pid=
  rc=0
  wait -n -p done_pid "${!pid_name[@]}" || rc=$?
  status[${pid_name[$done_pid]}]=$rc
  unset "pid_name[$done_pid]"
done
trap - EXIT
failed=0
for name in "${names[@]}"; do
  artifacts="$out/artifacts/$name"
  if [[ ${status[$name]} != 0 ]]; then
    failed=1
    echo "fuzz_$name exited ${status[$name]}:" >&2
    tail -40 "$out/fuzz_$name.log" >&2
  fi
  shopt -s nullglob
  for crash in "$artifacts"/*; do
    mkdir -p "tests/fuzz/regressions/$name"
    cp "$crash" "tests/fuzz/regressions/$name/"
    echo "fuzz_$name: $(basename "$crash") copied to tests/fuzz/regressions/$name/" >&2
    failed=1
  done
  shopt -u nullglob
  grep -E "^(Done|#[0-9]+ +DONE)" "$out/fuzz_$name.log" | tail -1 || true
done
echo "fuzz.sh: done in $SECONDS s"
exit "$failed"
