#!/bin/bash
# How the gateway's connections reach its event loops (one per core): the
# kernel hands a connection to the loop of the CPU its packets arrive on
# (on loopback, the client's CPU), a loop that has far more connections than
# another hands new ones over, every connection is served wherever it ends
# up, and the connection metrics (total, open, per loop, moved) add up.
# Needs 2 or more CPUs for the steering and balancing checks: with one
# there is one loop and it says so.
. "$(dirname "$0")/lib.sh"

D=$T_TMP/node
min_config "$D" "$T_TMP/c.yaml"
start_shoald n1 "$T_TMP/c.yaml"
check "shoald starts" 0 $?
NCPU=$(nproc)

# conns CPU N HOLD: from a process pinned to CPU, opens N connections to the
# gateway, sends a request on each, prints how many got an HTTP response,
# then keeps them open HOLD seconds (the metrics are read meanwhile).
conns() {
    python3 - "$SHOALD_S3" "$1" "$2" "$3" <<'PY' &
import os, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
os.sched_setaffinity(0, {int(sys.argv[2])})
socks = [socket.create_connection((host, int(port))) for _ in range(int(sys.argv[3]))]
ok = 0
for s in socks:
    s.sendall(b"GET /lakehouse/none HTTP/1.1\r\nHost: x\r\n\r\n")
for s in socks:
    s.settimeout(10)
    if s.recv(4096).startswith(b"HTTP/1.1 "):
        ok += 1
print(ok, flush=True)
time.sleep(float(sys.argv[4]))
PY
    CONNS_PID=$!
}
metric() { awk -v m="$1" '$1 == m {print $2}' "$T_TMP/metrics"; }
read_metrics() { curl -s "http://$SHOALD_ADMIN/metrics" >"$T_TMP/metrics"; }
# wait_open N: until N connections are open (or 10 s)
wait_open() {
    for _ in $(seq 100); do
        read_metrics
        [ "$(metric shoal_gateway_connections_open)" = "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

read_metrics
NLOOPS=$(grep -c '^shoal_gateway_loop_connections{' "$T_TMP/metrics")
check "one loop per CPU" "$NCPU" "$NLOOPS"
check "no connections yet" "0 0" "$(metric shoal_gateway_connections_open) $(metric shoal_gateway_connections_total)"

if [ "$NLOOPS" -lt 2 ]; then
    echo "one CPU, one loop: no steering or balancing to check"
else
    # steering: two connections from CPU 1 land on loop 1 % NLOOPS
    conns 1 2 3 >"$T_TMP/steer.out"
    wait_open 2
    check "steered: 2 connections open" 2 "$(metric shoal_gateway_connections_open)"
    check "steered: both on the loop of the client's CPU" 2 \
        "$(metric "shoal_gateway_loop_connections{loop=\"$((1 % NLOOPS))\"}")"
    wait "$CONNS_PID"
    check "steered: both served" 2 "$(cat "$T_TMP/steer.out")"
    wait_open 0
    check "closed connections leave the gauge" 0 "$(metric shoal_gateway_connections_open)"

    # balancing: 40 connections from CPU 0 all arrive on loop 0; it keeps
    # them only while it has no more than twice the least loaded loop's
    # plus 16
    moved0=$(metric shoal_gateway_connections_moved_total)
    conns 0 40 3 >"$T_TMP/bal.out"
    wait_open 40
    check "balanced: 40 connections open" 40 "$(metric shoal_gateway_connections_open)"
    sum=$(awk '$1 ~ /^shoal_gateway_loop_connections\{/ {s += $2} END {print s}' "$T_TMP/metrics")
    check "balanced: the loops' gauges add up to the open connections" 40 "$sum"
    least=$(awk '$1 ~ /^shoal_gateway_loop_connections\{/ {if (m == "" || $2 < m) m = $2} END {print m}' "$T_TMP/metrics")
    most=$(awk '$1 ~ /^shoal_gateway_loop_connections\{/ {if ($2 > m) m = $2} END {print m}' "$T_TMP/metrics")
    # the rule keeps most <= 2 * least + 16 (+1: the connection deciding)
    check "balanced: most <= 2 x least + 17 ($most, $least)" yes \
        "$([ "$most" -le $((2 * least + 17)) ] && [ "$least" -gt 0 ] && echo yes || echo no)"
    check "balanced: connections were handed over" yes \
        "$([ "$(metric shoal_gateway_connections_moved_total)" -gt "$moved0" ] && echo yes || echo no)"
    wait "$CONNS_PID"
    check "balanced: every connection served, handed over or not" 40 "$(cat "$T_TMP/bal.out")"
    read_metrics
    check "connections_total counts every accepted connection" 42 "$(metric shoal_gateway_connections_total)"
fi

stop_shoald "$SHOALD_PID" TERM
check "stops cleanly" 0 "$STOP_STATUS"
finish
