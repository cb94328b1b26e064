#!/usr/bin/env bash
# tests/integration/test_cluster.sh: membership with real shoald processes
# on 127.0.0.1-6, sealed with a key from `shoal keygen`: nodes join in any
# order (a seed list that names the node itself included) and agree on the
# view and the epoch; kill -9 is detected by every node; a restarted node
# comes back with the same id and a higher incarnation; SIGTERM is known at
# once as "left"; a node with another key, or another cluster name, does not
# get in (and the drops are counted by reason); captured packets replayed
# do not bring a dead node back; a seed given by name joins; a newcomer with
# a live member's name is refused, loudly; without a key file a node
# refuses a network address.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

"$BUILD/shoal" keygen >"$T_TMP/key" 2>"$T_TMP/keygen.err"
check "shoal keygen makes a key file" 0 $?
"$BUILD/shoal" keygen >"$T_TMP/other.key"
KEY_FILE=$T_TMP/key
for n in 1 2 3; do PEER_PORT[$n]=$(free_port 127.0.0.$n); done
SEEDS="127.0.0.1:${PEER_PORT[1]}, 127.0.0.2:${PEER_PORT[2]}"
for n in 1 2 3; do node_config $n "$SEEDS"; done

# ---- join in any order: 3 first (no seed is up), then 2, then 1 ------------------------------
start_node 3 || finish
sleep 0.5
start_node 2 || finish
sleep 0.5
start_node 1 || finish
ALL3="n1=alive n2=alive n3=alive"
wait_states 15 "$ALL3" 1 2 3
check "3 nodes started in reverse order: each sees all three alive" 0 $?
echo "     (converged ${WAITED_MS} ms after the last start)"
e1=$(view 1 && json_get "$T_TMP/view.1.json" epoch)
e2=$(view 2 && json_get "$T_TMP/view.2.json" epoch)
e3=$(view 3 && json_get "$T_TMP/view.3.json" epoch)
check "the three nodes have one ring epoch" "$e1 $e1" "$e2 $e3"
id3=$(member_field 1 n3 id)
inc3=$(member_field 1 n3 incarnation)
check_match "node1 knows node3's id" '^[0-9a-f]{32}$' "$id3"
check "node1's view of node3's id is node3's own" "$id3" "$(view 3 && json_get "$T_TMP/view.3.json" node)"

# ---- shoal ring ------------------------------------------------------------------------------
"$BUILD/shoal" ring --node "${NODE_ADMIN[1]}" --check >"$T_TMP/ring.out" 2>&1
check "shoal ring --check: all agree, exit 0" 0 $?
check "shoal ring shows three alive rows" 3 "$(grep -cE '^alive +n[123]' "$T_TMP/ring.out")"
check "shoal ring --check asked all three" "check: 3 members asked, 0 disagree" "$(tail -n 1 "$T_TMP/ring.out")"
check_match "shoal ring's summary has the epoch" "epoch $e1;" "$(grep '^cluster itest: 3 members' "$T_TMP/ring.out")"
SHOAL_ADMIN=${NODE_ADMIN[2]} "$BUILD/shoal" ring --json >"$T_TMP/ring.json"
check "shoal ring --json (node from SHOAL_ADMIN) is node2's view" "$e1" "$(json_get "$T_TMP/ring.json" epoch)"
share=$(/usr/bin/python3 -c 'import json,sys; print(round(sum(m["share_primary"] for m in json.load(open(sys.argv[1]))["members"]), 3))' "$T_TMP/ring.json")
check "the primary shares add up to 1" 1.0 "$share"

# ---- kill -9 ---------------------------------------------------------------------------------
kill -9 "${NODE_PID[3]}"
wait "${NODE_PID[3]}" 2>/dev/null
# before anyone notices, node1 still lists node3 alive: --check finds it silent
"$BUILD/shoal" ring --node "${NODE_ADMIN[1]}" --check >"$T_TMP/ring2.out" 2>&1
check "right after kill -9, shoal ring --check exits 1" 1 $?
check_match "and names the node that does not answer" '^disagrees: n3 .* did not answer$' "$(grep '^disagrees' "$T_TMP/ring2.out")"
wait_states 10 "n1=alive n2=alive n3=dead" 1 2
check "kill -9 of node3: nodes 1 and 2 see it dead" 0 $?
echo "     (declared dead by both ${WAITED_MS} ms after the kill)"
check "the epoch changed with the member set" 1 "$([ "$(view 1 && json_get "$T_TMP/view.1.json" epoch)" != "$e1" ] && echo 1 || echo 0)"

# ---- a restart: same id, higher incarnation ---------------------------------------------------
start_node 3 || finish
wait_states 10 "$ALL3" 1 2 3
check "node3 restarted: all see it alive again" 0 $?
check "node3 came back with the same id" "$id3" "$(member_field 1 n3 id)"
inc3b=$(member_field 1 n3 incarnation)
check "node3 came back with a higher incarnation" 1 "$([ "${inc3b:-0}" -gt "$inc3" ] && echo 1 || echo 0)"
check "the epoch is the first one again (same members)" "$e1" "$(view 2 && json_get "$T_TMP/view.2.json" epoch)"

# ---- SIGTERM: known at once ------------------------------------------------------------------
p2=${NODE_PID[2]}
stop_shoald "$p2" TERM
check "node2 exits 0 on SIGTERM" 0 "$STOP_STATUS"
wait_states 3 "n1=alive n2=left n3=alive" 1 3
check "node2's SIGTERM: nodes 1 and 3 see it left" 0 $?
echo "     (known to both ${WAITED_MS} ms after shoald exited)"
check "nodes 1 and 3 never suspected node2" 0 "$(grep -c 'name=n2 .*state=suspect' "$T_TMP/n1.log" "$T_TMP/n3.log" | awk -F: '{s+=$2} END {print s+0}')"
grep -q 'left how="a peer has it"' "$T_TMP/n2.log"
check "node2 waited for a peer to have its goodbye" 0 $?

# ---- outsiders: another key, another cluster name --------------------------------------------
PEER_PORT[4]=$(free_port 127.0.0.4)
PEER_PORT[5]=$(free_port 127.0.0.5)
KEY_FILE=$T_TMP/other.key node_config 4 "127.0.0.1:${PEER_PORT[1]}"
CLUSTER_NAME=elsewhere node_config 5 "127.0.0.1:${PEER_PORT[1]}"
key0=$(metric 1 'shoal_gossip_dropped_total{reason="key"}')
auth0=$(metric 1 'shoal_gossip_dropped_total{reason="auth"}')
start_node 4 || finish
start_node 5 || finish
sleep 4
check "a node with another key does not get in" "n1=alive n2=left n3=alive" "$(states 1 | tr '\n' ' ' | sed 's/ $//')"
check "the node with another key sees only itself" "n4=alive" "$(states 4 | tr '\n' ' ' | sed 's/ $//')"
check "the node of another cluster sees only itself" "n5=alive" "$(states 5 | tr '\n' ' ' | sed 's/ $//')"
key1=$(metric 1 'shoal_gossip_dropped_total{reason="key"}')
auth1=$(metric 1 'shoal_gossip_dropped_total{reason="auth"}')
check "node1 counted the other key's messages as reason=key" 1 "$([ "$key1" -gt "$key0" ] && echo 1 || echo 0)"
check "node1 counted the other cluster's messages as reason=auth" 1 "$([ "$auth1" -gt "$auth0" ] && echo 1 || echo 0)"
stop_shoald "${NODE_PID[4]}" TERM
stop_shoald "${NODE_PID[5]}" TERM

# ---- replayed packets ------------------------------------------------------------------------
# capture what reaches node1's gossip port for 2 s (AF_PACKET on lo), kill
# node3, and once node1 has it dead, replay every captured datagram
/usr/bin/python3 - "${PEER_PORT[1]}" "$T_TMP/captured" <<'PY' &
import socket, struct, sys, time, pickle
port, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
s.bind(("lo", 0))
s.settimeout(0.2)
got, end = [], time.time() + 2
while time.time() < end:
    try:
        f = s.recv(65535)
    except socket.timeout:
        continue
    ip = f[14:]
    if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
        continue
    ihl = (ip[0] & 15) * 4
    sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
    if dport == port and ip[12:16] != bytes([127, 0, 0, 1]):
        got.append(ip[ihl + 8:])
pickle.dump(got, open(out, "wb"))
PY
cap=$!
wait $cap
check "captured gossip to node1 (AF_PACKET on lo)" 0 $?
ncap=$(/usr/bin/python3 -c 'import pickle,sys; print(len(pickle.load(open(sys.argv[1],"rb"))))' "$T_TMP/captured")
check "some datagrams were captured" 1 "$([ "${ncap:-0}" -gt 5 ] && echo 1 || echo 0)"
replay() {
    /usr/bin/python3 - "${PEER_PORT[1]}" "$T_TMP/captured" <<'PY'
import socket, sys, pickle
port, got = int(sys.argv[1]), pickle.load(open(sys.argv[2], "rb"))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.6", 0))
for p in got:
    s.sendto(p, ("127.0.0.1", port))
PY
}
r0=$(metric 1 'shoal_gossip_dropped_total{reason="replay"}')
replay
sleep 0.5
r1=$(metric 1 'shoal_gossip_dropped_total{reason="replay"}')
check "every replayed datagram is dropped as a replay" "$ncap" "$((r1 - r0))"
kill -9 "${NODE_PID[3]}"
wait "${NODE_PID[3]}" 2>/dev/null
wait_states 10 "n1=alive n2=left n3=dead" 1
check "node3 killed again: node1 sees it dead" 0 $?
replay
sleep 1.5
check "node3's replayed packets do not bring it back" "n1=alive n2=left n3=dead" "$(states 1 | tr '\n' ' ' | sed 's/ $//')"

# ---- a seed given by name; a second node with a taken name ------------------------------------
PEER_PORT[7]=$(free_port 127.0.0.7)
node_config 7 "localhost:${PEER_PORT[1]}"
start_node 7 || finish
wait_states 10 "n1=alive n2=left n3=dead n7=alive" 1
check "a seed given as a DNS name (localhost) joins" 0 $?
# (members it never knew that are dead or left are not learned)
check "and the newcomer sees node1 alive, not the dead or left" "n1=alive n7=alive" "$(states 7 | tr '\n' ' ' | sed 's/ $//')"
PEER_PORT[8]=$(free_port 127.0.0.8)
node_config 8 "127.0.0.1:${PEER_PORT[1]}"
sed -i 's/^  name: n8$/  name: n1/' "$T_TMP/n8.yaml"
start_node 8 || finish
sleep 3
check "a newcomer named like a live member is kept out" "n1=alive n2=left n3=dead n7=alive" "$(states 1 | tr '\n' ' ' | sed 's/ $//')"
grep -q 'join refused seed=127.0.0.1:' "$T_TMP/n8.log"
check "the newcomer says its join was refused, and why" 0 $?
grep -q 'cluster: conflict: two nodes claim one name or id name=n1' "$T_TMP/n1.log"
check "the member reports the conflict loudly" 0 $?

# ---- no key file, a network address: refused ---------------------------------------------------
KEY_FILE= node_config 6 "127.0.0.1:${PEER_PORT[1]}" "  advertise: 192.0.2.10:7946"
"$BUILD/shoald" -c "$T_TMP/n6.yaml" >"$T_TMP/n6.log" 2>&1
check "no key file and a network address: shoald refuses to start (exit 1)" 1 $?
grep -q 'refusing to gossip unauthenticated on a network addr=192.0.2.10:7946' "$T_TMP/n6.log"
check "it says why and what to do" 0 $?
finish
