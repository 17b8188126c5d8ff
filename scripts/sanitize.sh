#!/usr/bin/env bash
# Builds perfbpf's own C++ with ASan+UBSan (PERFBPF_SANITIZE=ON) in build-asan (or
# $PERFBPF_ASAN_BUILD_DIR) and runs the unit tests and the kernel tests there. The shim and
# the test fixtures stay uninstrumented (they are loaded into, or are, programs without the
# ASan runtime). Kernel tests need root, as in the plain build. Meant for CI after the
# README's test command; not in .ci/run until a whole build of it has passed.
# usage: scripts/sanitize.sh [unit] [kernel]   (default: both)
#
# Not run under the sanitizers (they still run in the plain build):
#   label vm, install   qemu guests and the .deb install: another build's binaries, and
#                       minutes each with nothing of perfbpf's own code that the host
#                       kernel tests do not run too
#   BenchFloor.*        measures perfbpf's overhead, which instrumentation multiplies
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(unit kernel)
for part in "${parts[@]}"; do
  [[ $part == unit || $part == kernel ]] || { echo "sanitize.sh: unknown part '$part' (unit, kernel)" >&2; exit 2; }
done
out="${PERFBPF_ASAN_BUILD_DIR:-build-asan}"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$out" -DPERFBPF_SANITIZE=ON -DPERFBPF_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$out" -j"$(nproc)" --target unit_tests kernel_tests perfbpf
echo "sanitize.sh: built in $SECONDS s"
# detect_leaks: a leak is a failure like any other report. halt_on_error with
# -fno-sanitize-recover=undefined: the first report ends the test with its stack.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=0
for part in "${parts[@]}"; do
  start=$SECONDS
  case $part in
    unit) ctest --test-dir "$out" -L unit --output-on-failure || failed=1 ;;
    kernel) ctest --test-dir "$out" -L kernel -LE 'vm|install' -E '^BenchFloor\.' --output-on-failure ||
      failed=1 ;;
  esac
  echo "sanitize.sh: $part tests in $((SECONDS - start)) s"
done
exit "$failed"
