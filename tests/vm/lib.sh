# Sourced by the guest tests (tests/vm/*.sh) after they set `name`: failure, a report of what
# the guest was doing, a watchdog and a bounded reap. A guest test once hung CI for the
# whole harness timeout with only a stack dump to show for it; these keep a hang short and
# explained.
fail() { echo "$name: FAIL: $*"; exit 1; }
# A test with more to show (its cgroup's files) sets `diagnose_extra` to a function's name.
diagnose() {
    [ -n "${diagnose_extra:-}" ] && "$diagnose_extra"
    echo "$name: processes:"; ps 2>/dev/null | tail -n 20
    echo "$name: kernel log:"; dmesg 2>/dev/null | tail -n 40
}
# watchdog SECONDS: ends the test after SECONDS (well before the harness's timeout), saying
# what hung. Sets watchdog_pid; kill it at the end.
watchdog() {
    script_pid=$$
    (
        sleep "$1"
        echo "$name: FAIL: still running after $1 s"
        diagnose
        kill -TERM "$script_pid"
    ) &
    watchdog_pid=$!
}
# reap PID [wait]: sends SIGTERM (unless "wait": lets it finish) and waits up to 10 s for a
# process we started to end; one stuck in the kernel (D state) is a failure with its state
# shown, not a hang of the test. Returns the process's exit status.
reap() {
    [ "${2:-}" = wait ] || kill "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            grep -E '^(State|Name)' /proc/"$1"/status 2>/dev/null
            diagnose
            kill -KILL "$1" 2>/dev/null
            fail "pid $1 did not end within 10 s"
        fi
        sleep 0.1
    done
    wait "$1"
}
