#!/usr/bin/env bash
# tests/integration/test_cluster_net.sh: membership over a network that
# misbehaves, made with nftables inside a network namespace this test
# creates (every node on its loopback, 127.0.0.N): a 6-node cluster cut
# into 3 + 3 sees the other side dead and heals by itself once the cut is
# lifted; then 16 nodes under 10% random UDP loss (`numgen random mod 10 <
# 1 drop`) for 60 s: no node is ever declared dead. Needs root (ip netns,
# nft).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

NS=shoal-it-$$
if ! ip netns add "$NS" 2>"$T_TMP/netns.err"; then
    check "a network namespace for the test (ip netns add; needs root)" 0 1
    cat "$T_TMP/netns.err"
    finish
fi
T_CLEANUP+=("ip netns del $NS")
ip netns exec "$NS" ip link set lo up
SHOALD_WRAP="ip netns exec $NS"
nft_ns() { ip netns exec "$NS" nft "$@"; }
nft_ns add table inet shoaltest
check "nftables works in the namespace" 0 $?

"$BUILD/shoal" keygen >"$T_TMP/key"
KEY_FILE=$T_TMP/key
# faster push-pull than the default, so a heal shows within the test's time
EXTRA="  gossip_pushpull_interval: 10s"

# `make soak` runs only the loss part, longer and larger (LOSS_NODES,
# LOSS_SECONDS, LOSS_ONLY=1)
N=${LOSS_NODES:-16}
SECS=${LOSS_SECONDS:-60}

# ---- a partition of 6 into 3 + 3, healed ------------------------------------------------------
if [ -z "${LOSS_ONLY:-}" ]; then
for n in 1 2 3 4 5 6; do PEER_PORT[$n]=$(free_port 127.0.0.$n); done
SEEDS="127.0.0.1:${PEER_PORT[1]}, 127.0.0.4:${PEER_PORT[4]}"
for n in 1 2 3 4 5 6; do node_config $n "$SEEDS" "$EXTRA"; start_node $n || finish; done
ALL6="n1=alive n2=alive n3=alive n4=alive n5=alive n6=alive"
wait_states 20 "$ALL6" 1 2 3 4 5 6
check "6 nodes in the namespace: all see all alive" 0 $?
ports=$(for n in 1 2 3 4 5 6; do printf '%s, ' "${PEER_PORT[$n]}"; done | sed 's/, $//')
A=127.0.0.1-127.0.0.3
B=127.0.0.4-127.0.0.6
nft_ns add chain inet shoaltest cut '{ type filter hook output priority 0; }'
nft_ns add rule inet shoaltest cut ip saddr $A ip daddr $B th dport "{ $ports }" drop
nft_ns add rule inet shoaltest cut ip saddr $A ip daddr $B th sport "{ $ports }" drop
nft_ns add rule inet shoaltest cut ip saddr $B ip daddr $A th dport "{ $ports }" drop
nft_ns add rule inet shoaltest cut ip saddr $B ip daddr $A th sport "{ $ports }" drop
check "the cut: nft drop rules between 127.0.0.1-3 and 127.0.0.4-6" 0 $?
SIDE_A="n1=alive n2=alive n3=alive n4=dead n5=dead n6=dead"
SIDE_B="n1=dead n2=dead n3=dead n4=alive n5=alive n6=alive"
wait_states 30 "$SIDE_A" 1 2 3 && wait_states 30 "$SIDE_B" 4 5 6
check "cut 3 + 3: each side sees the other dead" 0 $?
echo "     (both sides settled ${WAITED_MS} ms after the cut, the second side's wait)"
nft_ns flush chain inet shoaltest cut
check "the cut lifted" 0 $?
wait_states 60 "$ALL6" 1 2 3 4 5 6
check "healed without anyone's help: all six see all alive again" 0 $?
echo "     (healed ${WAITED_MS} ms after the cut was lifted)"
e=$(view 1 && json_get "$T_TMP/view.1.json" epoch)
same=1
for n in 2 3 4 5 6; do
    [ "$(view $n && json_get "$T_TMP/view.$n.json" epoch)" = "$e" ] || same=0
done
check "after the heal all six have one epoch" 1 "$same"
for n in 1 2 3 4 5 6; do stop_shoald "${NODE_PID[$n]}" TERM; done
fi

# ---- 16 nodes, 10% random UDP loss, 60 s: no false death ---------------------------------------
for n in $(seq $N); do PEER_PORT[$n]=$(free_port 127.0.0.$n); done
SEEDS="127.0.0.1:${PEER_PORT[1]}, 127.0.0.2:${PEER_PORT[2]}"
for n in $(seq $N); do
    rm -rf "$T_TMP/n$n/data"
    node_config $n "$SEEDS" "$EXTRA"
    start_node $n || finish
done
ALL=$(for n in $(seq $N); do echo "n$n=alive"; done | sort | tr '\n' ' ' | sed 's/ $//')
wait_states $((30 + N / 2)) "$ALL" $(seq $N)
check "$N nodes: all see all alive" 0 $?
mark=$(for n in $(seq $N); do wc -l <"$T_TMP/n$n.log"; done | tr '\n' ' ')
nft_ns add chain inet shoaltest loss '{ type filter hook output priority 0; }'
nft_ns add rule inet shoaltest loss meta l4proto udp numgen random mod 10 '<' 1 counter drop
check "10% random UDP loss on (nft numgen)" 0 $?
sleep "$SECS"
dropped=$(nft_ns list chain inet shoaltest loss | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
echo "     (nft dropped ${dropped:-0} datagrams in $SECS s)"
check "the loss rule dropped datagrams" 1 "$([ "${dropped:-0}" -gt 1000 ] && echo 1 || echo 0)"
# under loss some suspicion is always in flight (and refuted): a member
# counts as seen when it is alive or suspect; none may be dead
ok=1
for n in $(seq $N); do
    seen=$(states $n | sed 's/=suspect$/=alive/' | tr '\n' ' ' | sed 's/ $//')
    [ "$seen" = "$ALL" ] || { ok=0; echo "     n$n sees: $(states $n | tr '\n' ' ')"; }
done
check "after $SECS s at 10% loss every node still sees all $N (alive or suspect, none dead)" 1 "$ok"
deaths=0
i=0
for m in $mark; do
    i=$((i + 1))
    d=$(tail -n +"$((m + 1))" "$T_TMP/n$i.log" | grep -c 'state=dead')
    deaths=$((deaths + d))
done
check "no node declared any other dead during the loss (logs)" 0 "$deaths"
susp=0
refu=0
for n in $(seq $N); do
    susp=$((susp + $(metric $n shoal_gossip_suspicions_total)))
    refu=$((refu + $(metric $n shoal_gossip_refutations_total)))
done
echo "     (suspicions raised: $susp, refuted: $refu, over all nodes)"
nft_ns delete chain inet shoaltest loss
finish
