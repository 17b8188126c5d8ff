#!/usr/bin/env bash
# The one entry point of the ASan+UBSan run (docs/sanitizers.md): configures build-asan (or
# $PERFBPF_ASAN_BUILD_DIR) with -DPERFBPF_SANITIZE=ON, builds perfbpf, unit_tests and
# kernel_tests there, and runs the unit tests and the kernel tests under the sanitizers. The
# shim, the test fixtures and the BPF objects stay uninstrumented (they are loaded into, or
# are, programs without the ASan runtime). The kernel part needs root, as in the plain build.
# CI runs it after the README's test command (.ci/run).
# usage: scripts/sanitize.sh [unit] [kernel]   (default: both)
#
# ASan and LSan reports of every instrumented process (the test binaries and each perfbpf
# they start) go to files in $out/sanitizer-logs, so a report from a child whose stderr a
# test swallows still fails the run. UBSan ignores log_path when linked beside ASan by g++ 12
# (measured: its report goes to stderr whatever UBSAN_OPTIONS says), so its reports are found
# in the tests' whole output (sanitizer-logs/PART.out) and its abort fails the process. Either
# way the script prints what it found and exits 1.
#
# Not run under the sanitizers (they still run in the plain build); docs/sanitizers.md says
# why for each:
#   label vm, install   qemu guests and the .deb install: another build's binaries
#   BenchFloor.*        measures perfbpf's overhead, which instrumentation multiplies
#   $excluded below     timing-bound groups whose cost under ASan outgrows the CI budget
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(unit kernel)
for part in "${parts[@]}"; do
  [[ $part == unit || $part == kernel ]] || { echo "sanitize.sh: unknown part '$part' (unit, kernel)" >&2; exit 2; }
done
out="${PERFBPF_ASAN_BUILD_DIR:-build-asan}"
excluded='^(BenchFloor)\.'
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$out" -DPERFBPF_SANITIZE=ON -DPERFBPF_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$out" -j"$(nproc)" --target unit_tests kernel_tests perfbpf
echo "sanitize.sh: built in $SECONDS s"

logs="$(realpath "$out")/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
# detect_leaks: a leak is a failure like any other report. abort_on_error with
# -fno-sanitize-recover=undefined: the first report ends the process with its stack, by
# SIGABRT (not perfbpf's own exit statuses).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1"
failed=0
for part in "${parts[@]}"; do
  start=$SECONDS
  case $part in
    # One process for all unit tests: the leak check at exit covers every test.
    unit) "$out/tests/unit_tests" 2>&1 | tee "$logs/unit.out" || failed=1 ;;
    kernel) ctest --test-dir "$out" -L kernel -LE 'vm|install' -E "$excluded" --output-on-failure \
      --output-log "$logs/kernel.out" || failed=1 ;;
  esac
  echo "sanitize.sh: $part tests in $((SECONDS - start)) s"
done
found=0
for report in "$logs"/asan.*; do
  [[ -e $report ]] || continue
  echo "sanitize.sh: ASan/LSan report $report:"
  cat "$report"
  found=1
done
if grep -n -A20 'runtime error:' "$logs"/*.out; then
  echo "sanitize.sh: UBSan report(s) above, from the test output in $logs"
  found=1
fi
if [[ $found == 1 ]]; then
  echo "sanitize.sh: FAILED: sanitizer finding(s) in perfbpf's code (see above)" >&2
  exit 1
fi
[[ $failed == 0 ]] || { echo "sanitize.sh: FAILED: tests failed, no sanitizer report" >&2; exit 1; }
echo "sanitize.sh: clean"
