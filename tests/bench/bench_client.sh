#!/bin/bash
# tests/bench/bench_client.sh BUILD: libshoal against the gateway and the
# loopback itself, on this machine, in one run. Three nodes on 127.0.0.1-3
# (R=2, 1 MiB blocks) over one S3 server, a warm 128 MiB object:
#
#   1. random 1 MiB blocks through node 1's S3 gateway (wrk -t2 -c16)
#      against the same blocks read with shoal_pread (bench_client, 16
#      threads), straight from each block's owners: MB/s, p99;
#   2. the same libshoal MB/s against iperf3 on loopback (one stream), the
#      physical ceiling here;
#   3. the p99 of libshoal's reads with node 2 SIGSTOPped against the
#      healthy p99 (hedged reads), and the failed reads;
#   4. warm 4 KiB reads with shoal_pread against memcached's gets of 4 KiB
#      values (bench_memc, the same threads), memcached from Debian;
#   5. `shoal load` of 1 GiB (16 objects of 64 MiB) into a fresh cluster:
#      the bytes S3 sent (its log) against the objects' bytes, and the time
#      against reading the same objects straight from S3 (8 curls at once).
#
# Medians of RUNS (3) runs, the two sides back to back. Env: RUNS, THREADS
# (16: bench_client threads),
# DURATION (8). Needs wrk and iperf3 (deploy/deps.sh bench). Prints
# figures, passes or fails nothing.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
RUNS=${RUNS:-3}
DUR=${DURATION:-8}
THREADS=${THREADS:-16}
PY=/usr/bin/python3
S3SRV=$ROOT/tests/s3/s3-server
OBJ=$ROOT/tests/bench/gateway/objects.py
BS=1048576
BIG=$((128 << 20))
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"
# shellcheck source=tests/bench/cluster_lib.sh
. "$ROOT/tests/bench/cluster_lib.sh"
die() { echo "bench_client: $*" >&2; exit 1; }
[ -x "$BUILD/bench/bench_client" ] || die "$BUILD/bench/bench_client missing (make all)"
command -v wrk >/dev/null || die "wrk missing (deploy/deps.sh bench)"
command -v iperf3 >/dev/null || die "iperf3 missing (deploy/deps.sh bench)"
command -v memcached >/dev/null || die "memcached missing (deploy/deps.sh test)"
TMP=$(mktemp -d /tmp/shoal-bench-client.XXXXXX)
CHILD=
trap cluster_cleanup EXIT
trap 'exit 130' INT TERM

echo "setting up: S3 server, a $((BIG >> 20)) MiB object, 3 nodes"
"$S3SRV" start "$TMP/s3" >"$TMP/s3.env" 2>"$TMP/s3.err" || { cat "$TMP/s3.err" >&2; die "S3 server did not start"; }
set -a
# shellcheck disable=SC1091
. "$TMP/s3.env"
set +a
bg "$PY" "$OBJ" put bench big.bin=$BIG || die "upload failed"
cluster 3 2
for i in 1 2 3; do curl -s -o /dev/null "http://${GW[$i]}/bench/big.bin" || die "warming failed"; done
sleep 2 # the last pushes
for b in $(seq 0 $((BIG / BS - 1))); do echo "/bench/big.bin $b"; done >"$TMP/blocks.txt"
export SHOAL_SEEDS="127.0.0.1:${PEER[1]}" SHOAL_CLUSTER=bench SHOAL_BLOCK_SIZE=$BS
: >"$TMP/runs"
for r in $(seq "$RUNS"); do
    bg wrk -t2 -c16 -d"${DUR}s" --timeout 10s -s "$ROOT/tests/bench/gateway/wrk.lua" \
        "http://${GW[1]}" -- blocks "$TMP/blocks.txt" $BS >"$TMP/wrk.out"
    g=$(grep '^wrk ' "$TMP/wrk.out") || die "wrk failed"
    c=$(bg "$BUILD/bench/bench_client" bench big.bin $BS "$THREADS" "$DUR") || die "bench_client failed"
    port=$(free_port 127.0.0.1)
    iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    ipid=$!
    sleep 0.5
    ip=$(iperf3 -c 127.0.0.1 -p "$port" -t "$DUR" -J 2>/dev/null |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8e6)')
    wait "$ipid" 2>/dev/null
    echo "gw ${g#wrk }" >>"$TMP/runs"
    echo "cl ${c#client }" >>"$TMP/runs"
    echo "ip mbs=$ip" >>"$TMP/runs"
    echo "  run $r: gateway $(echo "$g" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "%.0f MB/s p99 %.1f ms (errors %d/%d)", v["bytes"] / v["seconds"] / 1e6, v["p99_us"] / 1000, v["status_errors"], v["socket_errors"] }'); libshoal $(echo "$c" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "%.0f MB/s p99 %.1f ms (errors %d)", v["bytes"] / v["seconds"] / 1e6, v["p99_us"] / 1000, v["errors"] }'); iperf3 $(fmt "$ip" 0) MB/s"
done
# ---- 3. one node paused: p99 of libshoal reads, healthy and with node 2 SIGSTOPped ---------------
for r in $(seq "$RUNS"); do
    c=$(bg "$BUILD/bench/bench_client" bench big.bin $BS "$THREADS" "$DUR") || die "bench_client failed"
    echo "ok ${c#client }" >>"$TMP/runs"
    kill -STOP "${PID[2]}"
    c=$(bg "$BUILD/bench/bench_client" bench big.bin $BS "$THREADS" "$DUR")
    kill -CONT "${PID[2]}"
    [ -n "$c" ] || die "bench_client failed with node 2 paused"
    echo "st ${c#client }" >>"$TMP/runs"
    wait_alive 3 1 2 3
    echo "  run $r: p99 healthy $(awk '$1 == "ok" { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } p = v["p99_us"] } END { print p / 1000 }' "$TMP/runs") ms, node 2 paused $(echo "$c" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "%.1f ms (errors %d)", v["p99_us"] / 1000, v["errors"] }')"
done
# ---- 4. warm 4 KiB reads: libshoal against memcached's gets ------------------------------------
mport=$(free_port 127.0.0.1)
memcached -l 127.0.0.1 -p "$mport" -U 0 -m 256 -t 2 -u "$(id -un)" >/dev/null 2>&1 &
MEMC=$!
sleep 0.5
for r in $(seq "$RUNS"); do
    m=$(bg "$BUILD/bench/bench_memc" "$mport" 1000 "$THREADS" "$DUR") || die "bench_memc failed"
    c=$(bg "$BUILD/bench/bench_client" bench big.bin 4096 "$THREADS" "$DUR") || die "bench_client failed"
    echo "mc ${m#memc }" >>"$TMP/runs"
    echo "k4 ${c#client }" >>"$TMP/runs"
    echo "  run $r: memcached $(echo "$m" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "%.0f gets/s p99 %.2f ms", v["gets"] / v["seconds"], v["p99_us"] / 1000 }'); libshoal $(echo "$c" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "%.0f reads/s p99 %.2f ms (errors %d)", v["reads"] / v["seconds"], v["p99_us"] / 1000, v["errors"] }')"
done
kill "$MEMC" 2>/dev/null
wait "$MEMC" 2>/dev/null
# ---- 5. shoal load of 1 GiB into a fresh cluster: S3 bytes, time against S3 direct -------------
LOADN=16
LOADSZ=$((64 << 20))
bg "$PY" "$OBJ" put bench "load/part-%$LOADN=$LOADSZ" || die "upload failed"
bg "$PY" "$OBJ" presign "$S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" bench \
    "$TMP/load.urls:load/part-%$LOADN" || die "presign failed"
for r in $(seq "$RUNS"); do
    t0=$(date +%s.%N)
    sed "s|^|$S3_ENDPOINT|" "$TMP/load.urls" | xargs -P 8 -n 1 curl -sf -o /dev/null || die "S3 GETs failed"
    t1=$(date +%s.%N)
    CACHE_MEMORY=2GiB cluster 3 2 # room for both copies of every block: nothing evicted
    b0=$(s3_get_bytes)
    t2=$(date +%s.%N)
    bg "$BUILD/shoal" --seeds "127.0.0.1:${PEER[1]}" load --parallel 8 bench/load/ >"$TMP/load.out" 2>"$TMP/load.err" ||
        die "shoal load failed: $(tail -n 3 "$TMP/load.err")"
    t3=$(date +%s.%N)
    b1=$(s3_get_bytes)
    bg "$BUILD/shoal" --seeds "127.0.0.1:${PEER[1]}" load bench/load/ >/dev/null 2>&1 || die "second load failed"
    b2=$(s3_get_bytes)
    echo "ld s3=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') load=$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }') bytes=$((b1 - b0)) again=$((b2 - b1)) total=$((LOADN * LOADSZ))" >>"$TMP/runs"
    echo "  run $r: S3 direct $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s; shoal load $(awk -v a="$t2" -v b="$t3" 'BEGIN { printf "%.2f", b - a }') s, S3 sent $((b1 - b0)) bytes for $((LOADN * LOADSZ)); a second load: $((b2 - b1)) bytes"
done
ld() { awk -v f="$1" '$1 == "ld" { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print (f == "ratio" ? v["bytes"] / v["total"] : f == "time" ? v["load"] / v["s3"] : v[f]) }' "$TMP/runs" | med; }
ops() { awk -v l="$1" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print (v["gets"] != "" ? v["gets"] : v["reads"]) / v["seconds"] }' "$TMP/runs" | med; }
opsr() { awk '$1 == "mc" || $1 == "k4" { delete v; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    x[$1, ++n[$1]] = (v["gets"] != "" ? v["gets"] : v["reads"]) / v["seconds"] }
    END { for (i = 1; i <= n["mc"] && i <= n["k4"]; i++) print x["k4", i] / x["mc", i] }' "$TMP/runs" | med; }

p99() { awk -v l="$1" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } print v["p99_us"] / 1000 }' "$TMP/runs" | med; }
errs() { awk -v l="$1" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } e += v["errors"] } END { print e + 0 }' "$TMP/runs"; }
p99r() { awk '$1 == "ok" || $1 == "st" { delete v; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    x[$1, ++n[$1]] = v["p99_us"] } END { for (i = 1; i <= n["ok"] && i <= n["st"]; i++) print x["st", i] / x["ok", i] }' "$TMP/runs" | med; }

mbs() { awk -v l="$1" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print (v["mbs"] != "" ? v["mbs"] : v["bytes"] / v["seconds"] / 1e6) }' "$TMP/runs" | med; }
ratio() { # A B: the median of per-run MB/s ratios
    awk -v a="$1" -v b="$2" '$1 == a || $1 == b { delete v; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        x[$1, ++n[$1]] = v["mbs"] != "" ? v["mbs"] : v["bytes"] / v["seconds"] / 1e6 }
        END { for (i = 1; i <= n[a] && i <= n[b]; i++) print x[a, i] / x[b, i] }' "$TMP/runs" | med
}
echo
echo "libshoal: 3 nodes on 127.0.0.1-3, 1 MiB blocks, R=2, warm, $(nproc) cores, $(date -u +%F); medians of $RUNS runs"
printf '%-52s %10s %10s %8s %s\n' "figure" "reference" "libshoal" "ratio" "target"
printf '%-52s %10s %10s %8s %s\n' "1 warm 1 MiB reads, MB/s (ref: node 1's gateway)" "$(fmt "$(mbs gw)" 0)" "$(fmt "$(mbs cl)" 0)" "$(fmt "$(ratio cl gw)" 3)" ">= 1.5"
printf '%-52s %10s %10s %8s %s\n' "2 the same, MB/s (ref: iperf3 on loopback)" "$(fmt "$(mbs ip)" 0)" "$(fmt "$(mbs cl)" 0)" "$(fmt "$(ratio cl ip)" 3)" ">= 0.6"
printf '%-52s %10s %10s %8s %s\n' "3 p99 of a read, ms (ref: healthy; node 2 SIGSTOPped)" "$(fmt "$(p99 ok)" 1)" "$(fmt "$(p99 st)" 1)" "$(fmt "$(p99r)" 2)" "<= 3, errors 0 (here $(errs st))"
printf '%-52s %10s %10s %8s %s\n' "4 warm 4 KiB reads/s (ref: memcached gets/s)" "$(fmt "$(ops mc)" 0)" "$(fmt "$(ops k4)" 0)" "$(fmt "$(opsr)" 3)" ">= 1.0"
printf '%-52s %10s %10s %8s %s\n' "5 shoal load of 1 GiB, S3 bytes (ref: the objects')" "$((LOADN * LOADSZ))" "$(fmt "$(ld bytes)" 0)" "$(fmt "$(ld ratio)" 4)" "<= 1.01 (the listing's GETs included; a second load: $(fmt "$(ld again)" 0) bytes)"
printf '%-52s %10s %10s %8s %s\n' "5 the same, seconds (ref: the objects from S3 direct)" "$(fmt "$(ld s3)" 2)" "$(fmt "$(ld load)" 2)" "$(fmt "$(ld time)" 2)" "-"
