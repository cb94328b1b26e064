#!/bin/bash
# tests/bench/bench_gossip.sh BUILD: membership of 64 separate processes,
# shoald against hashicorp/memberlist 0.2.2 (Debian's
# golang-github-hashicorp-memberlist-dev, DefaultLANConfig: probe 1 s,
# suspicion multiplier 4), measured the same way in the same run, each in a
# network namespace of its own (tests/bench/gossip_bench.py): a join known to
# all, kill -9 declared dead by all (median and max of 20), SIGTERM known
# as left by all (median and max of 10), gossip bytes per node per second,
# false deaths. Then the simulator (shoal ring simulate --gossip) at 1,000
# nodes. Needs root (ip netns, nft). GOSSIP_NODES, GOSSIP_KILLS override.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${1:-build}
N=${GOSSIP_NODES:-64}
K=${GOSSIP_KILLS:-20}
TMP=$(mktemp -d /tmp/shoal-bench-gossip.XXXXXX)
trap 'ip netns del gb-shoal-$$ 2>/dev/null; ip netns del gb-ml-$$ 2>/dev/null; rm -rf "$TMP"' EXIT

mkdir -p "$TMP/go"
if ! GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE=$TMP/go/cache \
    go build -o "$TMP/ml" tests/bench/memberlist/main.go 2>"$TMP/go.err"; then
    echo "memberlist driver: build failed (golang-go, golang-github-hashicorp-memberlist-dev):"
    cat "$TMP/go.err"
    exit 1
fi
run() { # IMPL NETNS
    ip netns add "$2" || return 1
    mkdir -p "$TMP/$1"
    ip netns exec "$2" /usr/bin/python3 tests/bench/gossip_bench.py --impl "$1" --nodes "$N" \
        --kills "$K" --traffic-seconds "${GOSSIP_TRAFFIC_S:-60}" --leaves "${GOSSIP_LEAVES:-10}" --build "$BUILD" --driver "$TMP/ml" --tmp "$TMP/$1"
    ip netns del "$2"
}
ml=$(run memberlist gb-ml-$$)
sh=$(run shoal gb-shoal-$$)
echo "memberlist: $ml"
echo "shoal:      $sh"
/usr/bin/python3 - "$ml" "$sh" <<'PY'
import json, sys
ml, sh = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def row(what, k, unit, target):
    a, b = ml.get(k), sh.get(k)
    ratio = "%.2f x" % (b / a) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a else "-"
    print("%-34s %10s %10s %9s   %s" % (what, a, b, ratio, target))
print("%-34s %10s %10s %9s   %s" % ("64 processes, loopback", "memberlist", "shoal", "shoal/ml", "issue's target for shoal"))
row("join known to all (ms)", "join_ms", "ms", "<= 1000")
row("kill -9 dead at all, median (ms)", "kill_detect_median_ms", "ms", "<= 3000")
row("kill -9 dead at all, max (ms)", "kill_detect_max_ms", "ms", "<= 5000")
row("SIGTERM left at all, median (ms)", "leave_median_ms", "ms", "<= 500")
row("SIGTERM left at all, max (ms)", "leave_max_ms", "ms", "")
row("gossip bytes/node/s (IP incl.)", "bytes_per_node_s", "B/s", "<= 1000")
row("false deaths", "false_deaths", "", "0")
PY
echo "-- simulated (shoal ring simulate --gossip, the same state machine)"
for args in "--nodes 64" "--nodes 1000" "--nodes 64 --loss 0.1"; do
    "$BUILD/shoal" ring simulate --gossip $args --kills 10 --json
done
