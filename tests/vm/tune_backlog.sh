#!/bin/sh
# Runs inside the qemu guest (scripts/vmtest.sh): the net-backlog tuner's host-wide rule,
# net.core.netdev_max_backlog, which only the guest may change. With the backlog at 1000,
# a UDP flood from namespace a to namespace b over a veth pair, steered (RPS) from the
# sender's CPU 0 onto CPU 1's input backlog, overflows that backlog (softnet_stat's dropped
# column, skb:kfree_skb CPU_BACKLOG); `tune --auto --only net-backlog` must raise it and keep
# the change on fewer drops; --rollback then puts 1000 back.
set -u
state=/tmp/tune-backlog-state
sysctl=/proc/sys/net/core/netdev_max_backlog
fail() { echo "tune_backlog: FAIL: $*"; cleanup; exit 1; }
diagnose() {
    echo "tune_backlog: processes:"; ps 2>/dev/null | tail -n 20
    echo "tune_backlog: kernel log:"; dmesg 2>/dev/null | tail -n 40
}
script_pid=$$
(
    sleep 110
    echo "tune_backlog: FAIL: still running after 110 s"
    diagnose
    kill -TERM "$script_pid"
) &
watchdog_pid=$!
pids=""
reap() {
    kill "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            grep -E '^(State|Name)' /proc/"$1"/status 2>/dev/null
            diagnose
            echo "tune_backlog: pid $1 did not end 10 s after SIGTERM"
            return
        fi
        sleep 0.1
    done
    wait "$1" 2>/dev/null
}
cleanup() {
    for p in $pids; do reap "$p"; done
    pids=""
    ip netns del nbla 2>/dev/null
    ip netns del nblb 2>/dev/null
    kill "$watchdog_pid" 2>/dev/null
}
# Sum of the dropped column (second, hex) of /proc/net/softnet_stat over CPUs.
softnet_dropped() {
    total=0
    while read -r _ d _; do total=$((total + 0x$d)); done </proc/net/softnet_stat
    echo $total
}
a() { nsenter --net=/run/netns/nbla "$@"; }
b() { nsenter --net=/run/netns/nblb "$@"; }

[ "$(nproc)" -ge 2 ] || fail "needs 2 CPUs, has $(nproc)"
echo 1000 >$sysctl || fail "cannot set netdev_max_backlog"
ip netns add nbla && ip netns add nblb || fail "ip netns add"
# Made here and moved, as /sys shows only this namespace's devices: every packet vb
# receives is queued to CPU 1's backlog (RPS), whichever CPU sent it.
ip link add va type veth peer name vb || fail "veth"
echo 2 >/sys/class/net/vb/queues/rx-0/rps_cpus || fail "rps_cpus"
ip link set va netns nbla && ip link set vb netns nblb || fail "moving the veth ends"
a ip addr add 10.205.1.1/24 dev va && b ip addr add 10.205.1.2/24 dev vb || fail "addr"
a ip link set lo up && b ip link set lo up && a ip link set va up && b ip link set vb up ||
    fail "link up"

b taskset -c 1 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
pids="$pids $!"
sleep 1
a taskset -c 0 iperf3 -u -b 0 -l 64 -t 60 -c 10.205.1.2 -p 5201 >/dev/null 2>&1 &
pids="$pids $!"
d0=$(softnet_dropped)
sleep 5
d1=$(softnet_dropped)
echo "tune_backlog: backlog drops at netdev_max_backlog 1000: $((d1 - d0)) in 5 s"
[ $((d1 - d0)) -ge 100 ] || fail "the flood did not overflow the input backlog ($((d1 - d0)) drops in 5 s)"

perfbpf tune --auto --only net-backlog --duration 25 --interval 0.5 --window 8 --settle 1 \
    --state-dir $state || fail "tune --auto exited $?"
d2=$(softnet_dropped)
sleep 5
d3=$(softnet_dropped)
echo "tune_backlog: backlog drops at netdev_max_backlog $(cat $sysctl): $((d3 - d2)) in 5 s"
status=$(perfbpf tune --status --json --state-dir $state) || fail "tune --status"
echo "$status"
echo "$status" | grep -q '"knob": "net.core.netdev_max_backlog"' || fail "no netdev_max_backlog change in the journal"
echo "$status" | grep -q '"original": "1000"' || fail "the original is not 1000"
echo "$status" | grep -q '"outcome": "kept"' || fail "the change was not kept"
[ "$(cat $sysctl)" -gt 1000 ] || fail "kept, but netdev_max_backlog is $(cat $sysctl)"
perfbpf tune --rollback --state-dir $state || fail "tune --rollback exited $?"
[ "$(cat $sysctl)" = 1000 ] || fail "after rollback netdev_max_backlog is $(cat $sysctl)"
cleanup
echo "tune_backlog: ok"
