# Sourced by bench/daemon_cost.sh and bench/daemon_profile.sh once their options are read
# ($build, $name set): root, the built daemon and crowd ($bin, $crowd), a temp dir ($work)
# and the stopping of every pid added to $pids, with the dir's removal, on every way out.
[[ $(id -u) == 0 ]] || { echo "$name: run as root" >&2; exit 1; }
bin=$build/perfbpf crowd=$build/tests/fixtures/thread_crowd
[[ -x $bin && -x $crowd ]] || { echo "$name: build first (cmake --build build)" >&2; exit 1; }
# shellcheck source=bench/plain_build.sh
source "$here/plain_build.sh"
require_plain_build "$name" "$build"
work=$(mktemp -d "/tmp/perfbpf-${name%.sh}.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
