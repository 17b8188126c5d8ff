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
# wait_until TENTHS WHAT CMD [ARGS...]: runs CMD every 0.1 s until it succeeds; after TENTHS
# tries, a failure saying WHAT did not happen, with the guest's state.
wait_until() {
    tries=$1 what=$2
    shift 2
    i=0
    until "$@"; do
        i=$((i + 1))
        [ $i -gt "$tries" ] && { diagnose; fail "$what"; }
        sleep 0.1
    done
}
# stat_bytes KEY: a field of the test cgroup's ($cg) memory.stat, 0 when it has none.
stat_bytes() { awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' "$cg/memory.stat" 2>/dev/null; }
# ramdisk_ext4 MIB MNT: ext4 on a brd RAM disk of MIB MiB at MNT. Unlike tmpfs (shmem, which
# without swap cannot be reclaimed), its files are page cache; brd's own pages are charged to
# no cgroup.
ramdisk_ext4() {
    modprobe brd rd_nr=1 rd_size=$(($1 * 1024)) || fail "modprobe brd"
    mkfs.ext4 -q /dev/ram0 || fail "mkfs.ext4 /dev/ram0"
    mkdir -p "$2" && mount -t ext4 /dev/ram0 "$2" || fail "mount /dev/ram0 on $2"
}
# uncached_file PATH MIB: a file of zeros, then the guest's page cache dropped, so that the
# next reader brings it in (charged to that reader's cgroup).
uncached_file() {
    dd if=/dev/zero of="$1" bs=1M count="$2" conv=fsync 2>/dev/null || fail "writing $1"
    sync
    echo 3 >/proc/sys/vm/drop_caches
}
