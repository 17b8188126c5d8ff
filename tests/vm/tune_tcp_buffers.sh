#!/bin/sh
# Runs inside the qemu guest (scripts/vmtest.sh): the tcp-buffers tuner across two network
# namespaces joined by veth, with netem delay on both ends (a round trip of 2 x DELAY_MS) and
# a small tcp_rmem max in the receiver's namespace only. A TCP stream from the sender's
# namespace is limited by the receiver's window (a share of its buffer per round trip), so
# `tune --auto --netns` must raise the receiver's max and keep the change on the namespace's
# throughput; the sender's namespace keeps its value; --rollback restores the receiver's.
# Usage: tune_tcp_buffers.sh TCP_PAIR
set -u
pair=$1
state=/tmp/tune-tcp-state
work=/tmp/tune-tcp
tx_ns=perfbpf-tcpa
rx_ns=perfbpf-tcpb
rx_addr=10.205.1.2
delay_ms=${PERFBPF_TCP_DELAY_MS:-40}
small_rmem="4096 65536 131072"
name=tune_tcp_buffers
. "$(dirname "$0")/lib.sh"
watchdog 110
rmem() { ip netns exec "$1" cat /proc/sys/net/ipv4/tcp_rmem | tr -s ' \t' '  '; }

mkdir -p "$work" || fail "mkdir $work"
ip netns add $tx_ns || fail "ip netns add $tx_ns"
ip netns add $rx_ns || fail "ip netns add $rx_ns"
ip link add perfbpf-ta type veth peer name perfbpf-tb || fail "ip link add veth"
ip link set perfbpf-ta netns $tx_ns && ip link set perfbpf-tb netns $rx_ns || fail "move veth"
ip -n $tx_ns addr add 10.205.1.1/24 dev perfbpf-ta || fail "address in $tx_ns"
ip -n $rx_ns addr add $rx_addr/24 dev perfbpf-tb || fail "address in $rx_ns"
for link in $tx_ns:perfbpf-ta $rx_ns:perfbpf-tb; do
    ns=${link%%:*}
    ip -n "$ns" link set lo up && ip -n "$ns" link set "${link#*:}" up || fail "links up in $ns"
done
# Delay only: a queue long enough that netem itself never drops.
tc -n $tx_ns qdisc add dev perfbpf-ta root netem delay ${delay_ms}ms limit 100000 ||
    fail "netem in $tx_ns"
tc -n $rx_ns qdisc add dev perfbpf-tb root netem delay ${delay_ms}ms limit 100000 ||
    fail "netem in $rx_ns"
echo "$small_rmem" | ip netns exec $rx_ns tee /proc/sys/net/ipv4/tcp_rmem >/dev/null ||
    fail "set tcp_rmem in $rx_ns"
rx_before=$(rmem $rx_ns)
tx_before=$(rmem $tx_ns)
[ "$rx_before" = "$small_rmem" ] || fail "tcp_rmem in $rx_ns is '$rx_before'"
[ "$tx_before" != "$rx_before" ] || fail "both namespaces have tcp_rmem '$tx_before'"

# A stream of SECONDS from the sender's namespace to a reader in the receiver's, in the
# background; sets stream_rx, stream_tx (pids) and stream_out (the sender's byte count).
stream() {
    rm -f "$work/port"
    "$pair" -n $rx_ns recv "$work/port" $rx_addr >/dev/null &
    stream_rx=$!
    i=0
    while [ ! -s "$work/port" ]; do
        i=$((i + 1))
        [ $i -gt 50 ] && fail "the receiver did not listen within 5 s"
        sleep 0.1
    done
    stream_out=$work/sent.$1
    "$pair" -n $tx_ns send $rx_addr "$(cat "$work/port")" 0 "$1" >"$stream_out" &
    stream_tx=$!
}
# New connections one after another, each of SECONDS, until $work/stop exists; sets
# streams_pid. One long connection would not do: a connection whose window has held steady
# keeps its buffer after the max is raised (tcp_rcv_space_adjust grows it only when a round
# trip delivers more than the one before, and a window-limited one never does), while every
# new connection grows its buffer to the max in force.
streams() {
    rm -f "$work/stop"
    (
        while [ ! -e "$work/stop" ]; do
            stream "$1"
            wait "$stream_tx" && wait "$stream_rx" || exit 1
        done
    ) &
    streams_pid=$!
}
# Sets rate to the bytes per second of a stream of SECONDS, run to its end.
throughput() {
    stream "$1"
    reap "$stream_tx" wait || fail "the sender failed"
    reap "$stream_rx" wait || fail "the receiver failed"
    rate=$(($(cat "$stream_out") / $1))
}

throughput 4
before=$rate
echo "tune_tcp_buffers: ${delay_ms} ms each way, tcp_rmem '$rx_before' in $rx_ns: $before B/s"
streams 3
perfbpf tune --auto --only tcp-buffers --netns $rx_ns --duration 30 --interval 0.5 --window 6 \
    --verify-window 8 --settle 4 --state-dir $state || fail "tune --auto exited $?"
touch "$work/stop"
reap "$streams_pid" wait || fail "a stream failed during tune --auto"
status=$(perfbpf tune --status --json --state-dir $state) || fail "tune --status"
echo "$status"
rx_tuned=$(rmem $rx_ns)
echo "$status" | grep -q '"knob": "net.ipv4.tcp_rmem"' || fail "no tcp_rmem change in the journal"
echo "$status" | grep -q "\"scope\": \"netns:$rx_ns\"" || fail "the change is not in $rx_ns"
echo "$status" | grep -q "\"original\": \"$small_rmem\"" || fail "the original is not '$small_rmem'"
echo "$status" | grep -q '"outcome": "kept"' || fail "the change was not kept"
[ "$rx_tuned" != "$rx_before" ] || fail "kept, but tcp_rmem in $rx_ns is still '$rx_tuned'"
[ "$(rmem $tx_ns)" = "$tx_before" ] || fail "tcp_rmem in $tx_ns changed to '$(rmem $tx_ns)'"
throughput 4
after=$rate
echo "tune_tcp_buffers: tcp_rmem '$rx_tuned' in $rx_ns: $after B/s (before $before B/s)"
# The window per round trip grew with the max: at least half as much again.
[ $((after * 2)) -ge $((before * 3)) ] || fail "throughput $before -> $after B/s"
perfbpf tune --rollback --state-dir $state || fail "tune --rollback exited $?"
[ "$(rmem $rx_ns)" = "$rx_before" ] || fail "after rollback tcp_rmem in $rx_ns is '$(rmem $rx_ns)'"
[ "$(rmem $tx_ns)" = "$tx_before" ] || fail "after rollback tcp_rmem in $tx_ns is '$(rmem $tx_ns)'"
ip netns del $tx_ns
ip netns del $rx_ns
kill "$watchdog_pid" 2>/dev/null
echo "tune_tcp_buffers: ok"
