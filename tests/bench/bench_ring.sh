#!/bin/bash
# tests/bench/bench_ring.sh BUILD: ring placement figures at N = 10, 100,
# 1000 with 100,000 blocks per node (sampling noise under 1%), R = 1, each
# run RUNS times (default 3) with different seeds; prints the medians next
# to the targets and libmemcached ketama's figures measured on this
# machine type (160 points per server).
#
# Env: RUNS (3), NODES ("10 100 1000"), BLOCKS_PER_NODE (100000).
set -u
BUILD=${1:-build}
S=$BUILD/shoal
RUNS=${RUNS:-3}
NODES=${NODES:-"10 100 1000"}
PER=${BLOCKS_PER_NODE:-100000}
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-6s %-13s %-13s %-13s %-13s %-10s %-10s %-8s\n' N peak/mean min/mean leave/ideal join/ideal lookup_ns build_ms stayed
for n in $NODES; do
    out=$(mktemp)
    for s in $(seq 1 "$RUNS"); do
        "$S" ring simulate --nodes "$n" --blocks $((n * PER)) --seed "$s" --json >>"$out" || exit 1
    done
    f() { /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)[sys.argv[2]])' "$out" "$1" | med; }
    printf '%-6s %-13s %-13s %-13s %-13s %-10s %-10s %-8s\n' "$n" "$(f peak_to_mean)" "$(f min_to_mean)" \
        "$(f moved_leave_ratio)" "$(f moved_join_ratio)" "$(f lookup_ns)" "$(f build_ms)" "$(f moved_between_stayed)"
    rm -f "$out"
done
echo "targets: peak/mean <= 1.05; leave, join <= 1.10 x ideal; stayed = 0; lookup <= 100 ns and build <= 50 ms at N=1000"
echo "ketama (160 points/server): peak/mean 1.12 at N=10, 1.22 at N=100; leave 3.5 x ideal at N=100; 180-256 ns/lookup"
