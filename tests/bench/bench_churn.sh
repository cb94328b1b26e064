#!/bin/bash
# tests/bench/bench_churn.sh BUILD: nodes coming and going, and skew, on
# this machine (127.0.0.1-5, one S3 server, 1 MiB blocks, R=2). Run by
# tests/bench/run.sh; prints figures, passes or fails nothing.
#
#   1. repair: 1 GiB (16 x 64 MiB) read into 4 nodes; one killed with
#      SIGKILL: the time until every block has its R copies again on the
#      survivors, and the S3 bytes read meanwhile (Alluxio 3 refills a lost
#      worker's blocks from the under storage: 1/4 of 1 GiB x R here);
#   2. join: a new node with an empty cache joins the 3: the time until it
#      holds every block it now owns, and the S3 bytes read;
#   3. drain: SIGTERM to one of the 4: the time until it has handed every
#      block over and exited, and S3 bytes read by reading everything again;
#   4. skew: 2,000 objects of 64 KiB read under Zipf 1.1 through all 5
#      nodes (one wrk -t1 -c4 each): the hottest node's load (gateway
#      requests + block requests from peers) over the mean, and the same
#      for block requests from peers alone.
#
# Env: DURATION (10: seconds of the skew run), REPAIR_RATE (256MiB), CASES
# ("1 2 3 4", where 1 runs 2 and 3 too). Needs
# wrk (deploy/deps.sh bench), the test S3 server and boto3 (deploy/deps.sh
# test). Takes about 3 minutes.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
DUR=${DURATION:-10}
PY=/usr/bin/python3
S3SRV=$ROOT/tests/s3/s3-server
OBJ=$ROOT/tests/bench/gateway/objects.py
COPIES=$ROOT/tests/bench/churn/copies.py
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"
# shellcheck source=tests/bench/cluster_lib.sh
. "$ROOT/tests/bench/cluster_lib.sh"
die() { echo "bench_churn: $*" >&2; exit 1; }
[ -x "$BUILD/shoald" ] || die "$BUILD/shoald missing (make all)"
command -v wrk >/dev/null || die "wrk missing (deploy/deps.sh bench)"
"$PY" -c 'import boto3' 2>/dev/null || die "boto3 missing on $PY (deploy/deps.sh test)"
TMP=$(mktemp -d /tmp/shoal-bench-churn.XXXXXX)
CHILD=
trap cluster_cleanup EXIT
trap 'exit 130' INT TERM
CACHE_MEMORY=1GiB
CLUSTER_EXTRA=$(printf '\n  repair_rate: %s' "${REPAIR_RATE:-256MiB}")
admins() { local i out=; for i in "$@"; do out="$out${out:+,}${ADMIN[$i]}"; done; echo "$out"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }

echo "setting up: S3 server, 16 x 64 MiB, 2,000 x 64 KiB"
"$S3SRV" start "$TMP/s3" >"$TMP/s3.env" 2>"$TMP/s3.err" || { cat "$TMP/s3.err" >&2; die "S3 server did not start"; }
set -a
# shellcheck disable=SC1091
. "$TMP/s3.env"
set +a
bg "$PY" "$OBJ" put bench "big/%16=$((64 << 20))" "small/%2000=65536" || die "upload failed"
"$PY" -c 'import os, boto3; from botocore.config import Config
c = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                 config=Config(s3={"addressing_style": "path"}))
for i in range(16):
    k = "big/%06d" % i
    print(k, c.head_object(Bucket="bench", Key=k)["ETag"], 64 << 20)' >"$TMP/objects" || die "HEAD failed"

CASES=${CASES:-1 2 3 4}
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
rep_ms=- rep_s3=- dead_ms=- alive_ms=- join_ms=- join_s3=- drain_ms=- drain_s3=- skew=- skew_peer=-

# ---- 1. repair after a loss -------------------------------------------------------------------
if want 1; then
cluster 4 2
for i in $(seq 0 15); do curl -s -o /dev/null "http://${GW[$((i % 4 + 1))]}/bench/big/$(printf %06d "$i")" || die "warming failed"; done
r=$("$PY" "$COPIES" 60 "$(admins 1 2 3 4)" "$TMP/objects") || die "warming: $r"
b0=$(s3_get_bytes)
t0=$(date +%s%N)
kill -KILL "${PID[4]}"
wait "${PID[4]}" 2>/dev/null
unset 'PID[4]'
until curl -s "http://${ADMIN[1]}/v1/ring" | grep -q '"name":"n4","zone":"[^"]*","state":"dead"'; do sleep 0.05; done
dead_ms=$((($(date +%s%N) - t0) / 1000000))
r=$("$PY" "$COPIES" 120 "$(admins 1 2 3)" "$TMP/objects")
rep_ms=$((($(date +%s%N) - t0) / 1000000))
rep_s3=$(($(s3_get_bytes) - b0))
pushed=0
for i in 1 2 3; do pushed=$((pushed + $(metric "$i" shoal_repair_bytes_pushed_total))); done
echo "1 repair: n4 seen dead after $dead_ms ms; R copies again after $rep_ms ms ($r); $(mib "$pushed") MiB pushed by the survivors; S3 bytes read: $rep_s3"

# ---- 2. join ----------------------------------------------------------------------------------
b0=$(s3_get_bytes)
rm -rf "$TMP/nodes/5"
t0=$(date +%s%N)
node_start 5 2
node_wait 5
wait_alive 4 1 2 3 5
alive_ms=$((($(date +%s%N) - t0) / 1000000))
t0=$(date +%s%N)
r=$("$PY" "$COPIES" 120 "$(admins 1 2 3 5)" "$TMP/objects")
join_ms=$((($(date +%s%N) - t0) / 1000000))
join_s3=$(($(s3_get_bytes) - b0))
echo "2 join: n5 started, seen alive by all after $alive_ms ms; holds what it owns after $join_ms ms ($r); pushed to it $(mib "$(metric 5 shoal_peer_bytes_received_total)") MiB; S3 bytes read: $join_s3"

# ---- 3. drain ---------------------------------------------------------------------------------
b0=$(s3_get_bytes)
t0=$(date +%s%N)
kill -TERM "${PID[2]}"
wait "${PID[2]}" 2>/dev/null
drain_rc=$?
unset 'PID[2]'
drain_ms=$((($(date +%s%N) - t0) / 1000000))
r=$("$PY" "$COPIES" 30 "$(admins 1 3 5)" "$TMP/objects")
for i in $(seq 0 15); do curl -s -o /dev/null "http://${GW[$((i % 3 == 0 ? 1 : i % 3 == 1 ? 3 : 5))]}/bench/big/$(printf %06d "$i")"; done
drain_s3=$(($(s3_get_bytes) - b0))
echo "3 drain: n2 handed over and exited (status $drain_rc) after $drain_ms ms; copies after it: $r; S3 bytes read by a full re-read: $drain_s3"
fi

# ---- 4. skew: Zipf 1.1 over 5 nodes -------------------------------------------------------------
if want 4; then
cluster 5 2
for k in $(seq 0 1999); do printf '/bench/small/%06d\n' "$k"; done >"$TMP/small.txt"
zipf_all() { # SECONDS: one wrk per node at once
    local i pids=()
    for i in 1 2 3 4 5; do
        wrk -t1 -c4 -d"$1s" --timeout 10s -s "$ROOT/tests/bench/gateway/wrk.lua" "http://${GW[$i]}" -- zipf "$TMP/small.txt" 1.1 >"$TMP/zipf.$i" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do CHILD=$i; wait "$i"; done
    CHILD=
}
loads() { # the gateway GETs and the peer GETs served, per node
    local i
    for i in 1 2 3 4 5; do
        echo "$(curl -s "http://${ADMIN[$i]}/metrics" | awk '$1 == "shoal_gateway_requests_total{op=\"get\"}" { g = $2 } $1 == "shoal_peer_gets_served_total" { p = $2 } END { print g + 0, p + 0 }')"
    done
}
zipf_all 4 # warm, and the hot blocks get their copies
loads >"$TMP/l0"
zipf_all "$DUR"
loads >"$TMP/l1"
hot=0
for i in 1 2 3 4 5; do hot=$((hot + $(metric "$i" shoal_hot_copies_total))); done
read -r skew skew_peer <<<"$(paste "$TMP/l0" "$TMP/l1" | awk '{ g = $3 - $1; p = $4 - $2; t[NR] = g + p; q[NR] = p; st += g + p; sq += p }
    END { for (i = 1; i <= NR; i++) { if (t[i] > mt) mt = t[i]; if (q[i] > mq) mq = q[i] }
          printf "%.3f %.3f\n", mt / (st / NR), sq ? mq / (sq / NR) : 0 }')"
reqs=$(paste "$TMP/l0" "$TMP/l1" | awk '{ s += $3 - $1 } END { print s }')
echo "4 skew: $reqs requests in ${DUR} s; hottest node's load / mean $skew (block requests from peers alone: $skew_peer); hot copies kept: $hot"
fi

echo
echo "shoal churn: 127.0.0.1-5, 1 MiB blocks, R=2, repair_rate ${REPAIR_RATE:-256MiB}/s, $(nproc) cores, $(date -u +%F)"
printf '%-58s %12s %s\n' "figure" "shoal" "goal"
printf '%-58s %12s %s\n' "1 node loss: ms until R copies of 1 GiB are back" "$rep_ms" "(n4 seen dead at $dead_ms ms)"
printf '%-58s %12s %s\n' "1 node loss: S3 bytes read" "$rep_s3" "0 (Alluxio 3: the lost node's blocks, ~$((2 * 1024 / 4)) MiB here)"
printf '%-58s %12s %s\n' "2 join: ms from seen alive until it holds what it owns" "$join_ms" "(start to alive: $alive_ms ms)"
printf '%-58s %12s %s\n' "2 join: S3 bytes read" "$join_s3" "0"
printf '%-58s %12s %s\n' "3 drain: ms from SIGTERM to exit, every block handed over" "$drain_ms" "< drain_timeout (90 s)"
printf '%-58s %12s %s\n' "3 drain: S3 bytes read, re-reading everything after it" "$drain_s3" "0"
printf '%-58s %12s %s\n' "4 Zipf 1.1, 5 nodes: hottest node's load / mean" "$skew" "<= 1.25"
