# Sourced by the benchmarks: refuses a sanitized build (the test command's build-asan, or
# any -DPERFBPF_SANITIZE=ON): it costs several times the plain one in every program of
# ours, so its numbers would say nothing about perfbpf.
# usage: require_plain_build NAME BUILD_DIR
require_plain_build() {
    if grep -q '^PERFBPF_SANITIZE:BOOL=ON' "$2/CMakeCache.txt" 2>/dev/null; then
        echo "$1: $2 is a sanitized build (-DPERFBPF_SANITIZE=ON): measure a plain one (BUILD=build)" >&2
        exit 1
    fi
}
