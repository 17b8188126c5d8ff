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
failed=0
for name in "${names[@]}"; do
  work="$out/corpus/$name" artifacts="$out/artifacts/$name"
  rm -rf "$artifacts"
  mkdir -p "$work" "$artifacts"
  echo "== fuzz_$name for ${seconds}s"
  # -rss_limit_mb: the readers' own limits (journal 256 MB, recording 1 GB) are larger than
  # any input libFuzzer makes; an allocation beyond this is a bug.
  if ! "$out/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$name" \
      >"$out/fuzz_$name.log" 2>&1; then
    failed=1
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
