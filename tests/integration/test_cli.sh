#!/bin/bash
# The shoal CLI: help, exit codes, and `shoal ring simulate` figures on a
# small cluster (movement only to or from the member that changed, zone
# spread, JSON keys); `shoal ring simulate --gossip` on a small simulated
# cluster (detection, no false deaths, the two ways to start).
. "$(dirname "$0")/lib.sh"
S=$BUILD/shoal

"$S" --help >"$T_TMP/out" 2>&1
check "shoal --help exits 0" 0 $?
check_match "shoal --help lists ring simulate" "ring simulate" "$(cat "$T_TMP/out")"
"$S" >/dev/null 2>&1
check "shoal with no command exits 2" 2 $?
"$S" frobnicate >/dev/null 2>"$T_TMP/err"
check "unknown command exits 2" 2 $?
check_match "unknown command is named" "unknown command 'frobnicate'" "$(cat "$T_TMP/err")"
"$S" --bogus >/dev/null 2>&1
check "unknown global option exits 2" 2 $?
"$S" ring simulate --help >"$T_TMP/out" 2>&1
check "ring simulate --help exits 0" 0 $?
"$S" ring simulate >/dev/null 2>"$T_TMP/err"
check "ring simulate without --nodes exits 2" 2 $?
check_match "missing --nodes is named" "--nodes is required" "$(cat "$T_TMP/err")"
"$S" ring simulate --nodes 0 >/dev/null 2>&1
check "--nodes 0 exits 2" 2 $?
"$S" ring simulate --nodes 5 --weights 1,x >/dev/null 2>"$T_TMP/err"
check "bad --weights exits 2" 2 $?
"$S" ring simulate --nodes 5 --replicas 17 >/dev/null 2>&1
check "--replicas 17 exits 2" 2 $?
"$S" ring simulate --nodes 5 extra >/dev/null 2>&1
check "stray argument exits 2" 2 $?
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$S" ring --node "127.0.0.1:$port" >/dev/null 2>"$T_TMP/err"
check "shoal ring with no node at --node exits 1" 1 $?
check_match "it says the node did not answer" "^shoal ring: no answer from http://127.0.0.1:$port/v1/ring" "$(head -n 1 "$T_TMP/err")"
"$S" ring --bogus >/dev/null 2>&1
check "shoal ring --bogus exits 2" 2 $?
"$S" keygen extra >/dev/null 2>&1
check "shoal keygen extra exits 2" 2 $?

# figures on a small cluster: 30 members, 3 zones, R=3
"$S" ring simulate --nodes 30 --zones 3 --replicas 3 --blocks 300000 --json >"$T_TMP/sim.json"
check "ring simulate --json exits 0" 0 $?
for k in peak_to_mean moved_leave_ratio moved_join_ratio lookup_ns build_ms zone_violations \
    min_to_mean peak_to_mean_replicas moved_between_stayed epoch; do
    v=$(json_get "$T_TMP/sim.json" $k 2>/dev/null)
    check_match "json has $k" "." "$v"
done
check "no block moves between members that stayed" 0 "$(json_get "$T_TMP/sim.json" moved_between_stayed)"
check "no zone violations with zones >= R" 0 "$(json_get "$T_TMP/sim.json" zone_violations)"
pm=$(json_get "$T_TMP/sim.json" peak_to_mean)
check "peak-to-mean <= 1.08 at 10k blocks per member" 1 "$(awk -v p="$pm" 'BEGIN{print (p <= 1.08)}')"
ml=$(json_get "$T_TMP/sim.json" moved_leave_ratio)
mj=$(json_get "$T_TMP/sim.json" moved_join_ratio)
check "moved on join within 1.3x ideal" 1 "$(awk -v p="$mj" 'BEGIN{print (p <= 1.3 && p > 0.5)}')"
check "moved on leave within 1.3x ideal" 1 "$(awk -v p="$ml" 'BEGIN{print (p <= 1.3 && p > 0.3)}')"
# the same seed gives the same figures and the same epoch
"$S" ring simulate --nodes 30 --zones 3 --replicas 3 --blocks 300000 --json >"$T_TMP/sim2.json"
check "same seed, same epoch" "$(json_get "$T_TMP/sim.json" epoch)" "$(json_get "$T_TMP/sim2.json" epoch)"
check "same seed, same peak" "$pm" "$(json_get "$T_TMP/sim2.json" peak_to_mean)"
# weights: 2 zones < R=3 still places 3 distinct replicas, no violations counted
"$S" ring simulate --nodes 8 --zones 2 --replicas 3 --weights 1,2 --blocks 50000 --json >"$T_TMP/sim3.json"
check "zones < R: no violations (spread over all zones)" 0 "$(json_get "$T_TMP/sim3.json" zone_violations)"
"$S" ring simulate --nodes 8 --blocks 1000 >"$T_TMP/text"
check_match "text output has a movement section" "between members that stayed: 0" "$(cat "$T_TMP/text")"

# membership, simulated
"$S" ring simulate --gossip --help >"$T_TMP/out" 2>&1
check "ring simulate --gossip --help exits 0" 0 $?
check_match "its help names --start known" "--start known" "$(cat "$T_TMP/out")"
for bad in "--nodes 1" "--nodes 10001" "--nodes 8 --start soon" "--nodes 8 --suspicion-mult 0" \
    "--nodes 8 --loss 0.9" "--nodes 8 --kills 0"; do
    "$S" ring simulate --gossip $bad >/dev/null 2>"$T_TMP/err"
    check "ring simulate --gossip $bad exits 2" 2 $?
done
"$S" ring simulate --gossip --nodes 8 --start soon >/dev/null 2>"$T_TMP/err"
check_match "a bad --start is named" "--start must be join or known, not 'soon'" "$(cat "$T_TMP/err")"
"$S" ring simulate --gossip --nodes 24 --kills 3 --json >"$T_TMP/g.json"
check "ring simulate --gossip exits 0" 0 $?
check "join start: start is join" join "$(json_get "$T_TMP/g.json" start)"
check "join start: all saw all (join_ms >= 0)" 1 "$(awk -v v="$(json_get "$T_TMP/g.json" join_ms)" 'BEGIN{print (v >= 0)}')"
check "3 kills measured" 3 "$(json_get "$T_TMP/g.json" kills)"
dm=$(json_get "$T_TMP/g.json" detect_median_ms)
check "kill -9 seen dead by all within 0.1..5 s" 1 "$(awk -v v="$dm" 'BEGIN{print (v > 100 && v <= 5000)}')"
check "no false deaths" 0 "$(json_get "$T_TMP/g.json" false_deaths)"
check "gossip traffic is counted (over 100 B/s per node)" 1 "$(awk -v v="$(json_get "$T_TMP/g.json" bytes_per_node_s)" 'BEGIN{print (v > 100)}')"
"$S" ring simulate --gossip --nodes 24 --kills 3 --start known --json >"$T_TMP/k.json"
check "known start: start is known" known "$(json_get "$T_TMP/k.json" start)"
check "known start: no join time" -1 "$(json_get "$T_TMP/k.json" join_ms)"
check "known start: kills detected the same way" 1 "$(awk -v v="$(json_get "$T_TMP/k.json" detect_median_ms)" 'BEGIN{print (v > 100 && v <= 5000)}')"
"$S" ring simulate --gossip --nodes 24 --kills 3 --suspicion-mult 8 --json >"$T_TMP/s8.json"
dm8=$(json_get "$T_TMP/s8.json" detect_median_ms)
check "a 4x longer suspicion multiplier detects later" 1 "$(awk -v a="$dm" -v b="$dm8" 'BEGIN{print (b > a + 500)}')"
finish
