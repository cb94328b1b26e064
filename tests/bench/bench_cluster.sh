#!/bin/bash
# tests/bench/bench_cluster.sh BUILD: the data path of a 3-node cluster
# (127.0.0.1-3, one S3 server, 1 MiB blocks) on this machine, in one run.
# Run by tests/bench/run.sh; prints figures as ratios, passes or fails
# nothing.
#
#   1. warm 1 MiB block ranges of a 128 MiB object through node 1, wrk -t2
#      -c16: blocks node 1 holds (it owns them) against blocks it owns none
#      of (one proxy hop to an owner): req/s and p99;
#   2. a cold 64 MiB read through node 1 (a fresh key each run) against the
#      same read straight from S3 (curl on a presigned URL), R=2 and R=1;
#   3. aggregate warm throughput: random 1 MiB ranges of the 128 MiB object,
#      three wrk (-t1 -c6) at once, one per node of the 3-node cluster,
#      against one wrk -t2 -c16 on a single node alone.
# Each figure is the median of RUNS runs (COLD_RUNS for case 2); ratios are
# medians of per-run ratios, both sides measured back to back.
#
# Env: RUNS (3), COLD_RUNS (3), DURATION (8: seconds per wrk run), CASES
# ("1 2 3": the cases to run), TLS (1: every node with cluster.tls and a
# key from `shoal keygen`). Needs wrk
# (deploy/deps.sh bench), the test S3 server and boto3 (deploy/deps.sh
# test). Takes about 6 minutes.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
RUNS=${RUNS:-3}
COLD_RUNS=${COLD_RUNS:-3}
DUR=${DURATION:-8}
PY=/usr/bin/python3
S3SRV=$ROOT/tests/s3/s3-server
HERE=$ROOT/tests/bench/gateway
OBJ=$HERE/objects.py
BS=1048576
BIG=$((128 << 20))
COLD=$((64 << 20))

# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"
# shellcheck source=tests/bench/cluster_lib.sh
. "$ROOT/tests/bench/cluster_lib.sh"

die() { echo "bench_cluster: $*" >&2; exit 1; }
CASES=${CASES:-1 2 3}
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
[ -x "$BUILD/shoald" ] || die "$BUILD/shoald missing (make all)"
command -v wrk >/dev/null || die "wrk missing (deploy/deps.sh bench)"
"$PY" -c 'import boto3' 2>/dev/null || die "boto3 missing on $PY (deploy/deps.sh test)"

TMP=$(mktemp -d /tmp/shoal-bench-cl.XXXXXX)
TLS_CFG=
if [ "${TLS:-0}" = 1 ]; then
    "$BUILD/shoal" keygen >"$TMP/cluster.key" || die "shoal keygen failed"
    TLS_CFG=$(printf '\n  tls: true\n  secret_file: %s' "$TMP/cluster.key")
    CLUSTER_EXTRA=$TLS_CFG
fi
CHILD=
trap cluster_cleanup EXIT
trap 'exit 130' INT TERM

# cpu_ticks: the CPU time (clock ticks) the shoald processes have used
cpu_ticks() {
    local n t=0
    for n in "${!PID[@]}"; do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/${PID[$n]}/stat" 2>/dev/null || echo 0)))
    done
    echo $t
}

# children_us VAR: sets VAR to the CPU time (us) of this shell's children
# that ended (wrk); `times` in the shell itself, not in a subshell
children_us() {
    times >"$TMP/times"
    printf -v "$1" '%s' "$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] }
        printf "%d", t * 1000000 }' "$TMP/times")"
}

# wrk_run LABEL URL ARGS...: one wrk run (-t2 -c16); appends "LABEL k=v ..."
# to $TMP/runs, with cpu_us: the shoald processes' CPU time in the run, and
# wrk_us: wrk's
wrk_run() {
    local label=$1 url=$2 out c0 w0 w1
    shift 2
    c0=$(cpu_ticks)
    children_us w0
    bg wrk -t2 -c16 -d"${DUR}s" --timeout 10s -s "$HERE/wrk.lua" "$url" -- "$@" >"$TMP/wrk.out"
    out=$(grep '^wrk ' "$TMP/wrk.out")
    [ -n "$out" ] || die "wrk failed: $label"
    children_us w1
    out="${out#wrk } cpu_us=$((($(cpu_ticks) - c0) * 1000000 / $(getconf CLK_TCK))) wrk_us=$((w1 - w0))"
    echo "$label $out" >>"$TMP/runs"
    echo "  $label: $(echo "$out" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%.0f req/s, %.0f MB/s, p99 %.2f ms, errors %d/%d, CPU us/req: shoald %.0f, wrk %.0f",
            v["requests"] / v["seconds"], v["bytes"] / v["seconds"] / 1e6, v["p99_us"] / 1000,
            v["status_errors"], v["socket_errors"], v["cpu_us"] / v["requests"], v["wrk_us"] / v["requests"] }')"
}
# field LABEL EXPR: the median over runs of EXPR of the runs labelled LABEL
field() {
    awk -v l="$1" '$1 == l { delete v; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print '"$2"' }' "$TMP/runs" | med
}
# ratio A B EXPR: the median over runs of EXPR(A)/EXPR(B), run k against run k
ratio() {
    awk -v a="$1" -v b="$2" '$1 == a || $1 == b { delete v
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        x[$1, ++n[$1]] = '"$3"' }
        END { for (i = 1; i <= n[a] && i <= n[b]; i++) print x[a, i] / x[b, i] }' "$TMP/runs" | med
}
RPS='v["requests"] / v["seconds"]'
P99='v["p99_us"] / 1000'
MBS='v["bytes"] / v["seconds"] / 1e6'

# ---- S3 and the objects ----------------------------------------------------------------------
echo "setting up: S3 server, a $((BIG >> 20)) MiB object, $((2 * COLD_RUNS)) x $((COLD >> 20)) MiB"
"$S3SRV" start "$TMP/s3" >"$TMP/s3.env" 2>"$TMP/s3.err" || { cat "$TMP/s3.err" >&2; die "S3 server did not start"; }
set -a
# shellcheck disable=SC1091
. "$TMP/s3.env"
set +a
bg "$PY" "$OBJ" put bench big.bin=$BIG "cold/%$((2 * COLD_RUNS))=$COLD" || die "upload failed"
"$PY" "$OBJ" presign "$S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" bench \
    "$TMP/s3_cold.txt:cold/%$((2 * COLD_RUNS))" || die "presigning failed"
ETAG=$("$PY" -c 'import os, boto3; from botocore.config import Config
c = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                 config=Config(s3={"addressing_style": "path"}))
print(c.head_object(Bucket="bench", Key="big.bin")["ETag"])')
: >"$TMP/runs"

# ---- 1. through an owner, through a node that owns none of the copies -------------------------
cluster 3 2
s3_1=0
if want 1; then
curl -s -o /dev/null "http://${GW[1]}/bench/big.bin" || die "warming failed"
sleep 2 # replication of the last blocks
q=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.urlencode({"bucket": "bench",
    "key": "big.bin", "etag": sys.argv[1], "size": sys.argv[2]}))' "$ETAG" "$BIG")
curl -s "http://${ADMIN[1]}/v1/blocks?$q" >"$TMP/blocks.json"
"$PY" -c 'import json, sys
bl = json.load(open(sys.argv[1]))["blocks"]
with open(sys.argv[2], "w") as own, open(sys.argv[3], "w") as other:
    for b in bl:
        (own if b["owner"] and b["held"] else other if not b["owner"] else open("/dev/null", "w")).write(
            "/bench/big.bin %d\n" % b["index"])' "$TMP/blocks.json" "$TMP/own.txt" "$TMP/other.txt"
echo "node 1 owns $(wc -l <"$TMP/own.txt") of the 128 blocks (holds them), none of the copies of $(wc -l <"$TMP/other.txt")"
for b in other own; do # warm: every block through node 1 once more
    awk -v bs=$BS '{ printf "url = \"http://'"${GW[1]}"'%s\"\nheader = \"Range: bytes=%d-%d\"\noutput = /dev/null\n", $1, $2 * bs, ($2 + 1) * bs - 1 }' \
        "$TMP/$b.txt" >"$TMP/curl.cfg"
    curl -s -Z --parallel-max 8 -K "$TMP/curl.cfg" >/dev/null
done
s3_0=$(s3_gets)
echo "case 1: wrk -t2 -c16 -d${DUR}s, $RUNS runs"
for r in $(seq "$RUNS"); do
    if [ $((r % 2)) = 1 ]; then order="own other"; else order="other own"; fi
    for b in $order; do wrk_run "1$b" "http://${GW[1]}" blocks "$TMP/$b.txt" $BS; done
done
s3_1=$(($(s3_gets) - s3_0))
echo "  (S3 GETs during case 1: $s3_1)"
fi

# ---- 2. cold 64 MiB: S3 direct, R=2 and R=1 --------------------------------------------------
cold_case() { # R FIRST: COLD_RUNS cold reads of fresh keys from FIRST
    local r=$1 k a b i code size ttfb total c0
    for i in $(seq "$COLD_RUNS"); do
        k=$(($2 + i))
        u=$(sed -n "${k}p" "$TMP/s3_cold.txt")
        key=$(printf 'cold/%06d' $((k - 1)))
        a=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' "$S3_ENDPOINT$u")
        c0=$(cpu_ticks)
        b=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_starttransfer} %{time_total}' "http://${GW[1]}/bench/$key")
        c0=$(awk -v t=$(($(cpu_ticks) - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
        read -r code size ttfb total <<<"$b"
        [ "${a% *}" = "200 $COLD" ] && [ "$code $size" = "200 $COLD" ] || die "cold read $key: S3 '$a', cluster '$b'"
        echo "2r$r direct=${a##* } cluster=$total" >>"$TMP/runs"
        echo "  R=$r cold run $i: S3 direct ${a##* } s, through the cluster $total s (first byte after $ttfb s; shoald CPU $c0 s)"
    done
}
fills2=0
if want 2; then
echo "case 2: cold $((COLD >> 20)) MiB reads, $COLD_RUNS runs each"
fills0=$(($(metric 1 shoal_fills_total) + $(metric 2 shoal_fills_total) + $(metric 3 shoal_fills_total)))
cold_case 2 0
fills2=$(($(metric 1 shoal_fills_total) + $(metric 2 shoal_fills_total) + $(metric 3 shoal_fills_total) - fills0))
fi

# ---- 3. aggregate: three nodes at once against one node alone -------------------------------
if want 3; then
echo "case 3: random 1 MiB ranges of the 128 MiB object, $RUNS runs"
echo /bench/big.bin >"$TMP/big.txt"
agg3() {
    local i pids=() c0
    c0=$(cpu_ticks)
    for i in 1 2 3; do
        wrk -t1 -c6 -d"${DUR}s" --timeout 10s -s "$HERE/wrk.lua" "http://${GW[$i]}" -- \
            range "$TMP/big.txt" $BIG $BS >"$TMP/wrk3.$i" &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$TMP/wrk3.1" "$TMP/wrk3.2" "$TMP/wrk3.3" | grep '^wrk ' | awk -v cpu=$((($(cpu_ticks) - c0) * 1000000 / $(getconf CLK_TCK))) '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2]; if (kv[1] == "seconds") s = kv[2] } }
        END { printf "3three requests=%d seconds=%s bytes=%.0f p99_us=0 status_errors=%d socket_errors=%d cpu_us=%d\n",
            v["requests"], s, v["bytes"], v["status_errors"], v["socket_errors"], cpu }' >>"$TMP/runs"
    tail -n 1 "$TMP/runs" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "  three nodes at once: %.0f req/s, %.0f MB/s, shoald CPU %.0f us/req\n", v["requests"] / v["seconds"],
            v["bytes"] / v["seconds"] / 1e6, v["cpu_us"] / v["requests"] }'
}
for r in $(seq "$RUNS"); do
    for i in 1 2 3; do curl -s -o /dev/null "http://${GW[$i]}/bench/big.bin"; done
    agg3
done
cluster 1 1
echo "  (a single node)"
curl -s -o /dev/null "http://${GW[1]}/bench/big.bin"
for r in $(seq "$RUNS"); do wrk_run 3one "http://${GW[1]}" range "$TMP/big.txt" $BIG $BS; done
fi

# ---- 2 again with R=1 ------------------------------------------------------------------------
if want 2; then
    cluster 3 1
    cold_case 1 "$COLD_RUNS"
fi

# ---- the table -------------------------------------------------------------------------------
row() { printf '%-46s %11s %11s %8s %-24s %s\n' "$@" | sed 's/ *$//'; }
c2() { awk -v l="$1" -v f="$2" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print (f == "ratio" ? v["cluster"] / v["direct"] : v[f]) }' "$TMP/runs" | med; }
echo
echo "shoal cluster: 3 nodes on 127.0.0.1-3, 1 MiB blocks, one S3 server, $(nproc) cores, $(date -u +%F)$([ -n "$TLS_CFG" ] && echo ", cluster.tls")"
echo "medians of $RUNS runs ($COLD_RUNS for case 2); ratio = median of per-run ratios"
row "case" "reference" "shoal" "ratio" "target" "met?"
if want 1; then
r=$(ratio 1other 1own "$RPS")
row "1 warm 1 MiB blocks, req/s (ref: via owner)" "$(fmt "$(field 1own "$RPS")" 0)" \
    "$(fmt "$(field 1other "$RPS")" 0)" "$(fmt "$r" 3)" ">= 0.7 x through owner" "$(met "$r" ">=" 0.7)"
r=$(ratio 1other 1own "$P99")
row "1   p99 latency, ms" "$(fmt "$(field 1own "$P99")" 2)" "$(fmt "$(field 1other "$P99")" 2)" \
    "$(fmt "$r" 3)" "<= 2 x through owner" "$(met "$r" "<=" 2)"
fi
if want 2; then
r=$(c2 2r2 ratio)
row "2 cold 64 MiB, 3 nodes R=2, s (ref: S3)" "$(fmt "$(c2 2r2 direct)" 3)" "$(fmt "$(c2 2r2 cluster)" 3)" \
    "$(fmt "$r" 3)" "<= 0.8 x direct" "$(met "$r" "<=" 0.8)"
r1=$(c2 2r1 ratio)
row "2   the same with R=1" "$(fmt "$(c2 2r1 direct)" 3)" "$(fmt "$(c2 2r1 cluster)" 3)" \
    "$(fmt "$r1" 3)" "(R=2 / R=1: $(fmt "$(awk -v a="$r" -v b="$r1" 'BEGIN { print a / b }')" 3))" "-"
fi
if want 3; then
r=$(ratio 3three 3one "$MBS")
row "3 aggregate warm, MB/s (ref: one node)" "$(fmt "$(field 3one "$MBS")" 0)" \
    "$(fmt "$(field 3three "$MBS")" 0)" "$(fmt "$r" 3)" ">= 0.9 x one node" "$(met "$r" ">=" 0.9)"
fi
CPU='v["cpu_us"] / v["requests"]'
want 1 && row "1   shoald CPU, us per request (all nodes)" "$(fmt "$(field 1own "$CPU")" 0)" \
    "$(fmt "$(field 1other "$CPU")" 0)" "$(fmt "$(ratio 1other 1own "$CPU")" 3)" "-" "-"
want 3 && row "3   shoald CPU, us per request (all nodes)" "$(fmt "$(field 3one "$CPU")" 0)" \
    "$(fmt "$(field 3three "$CPU")" 0)" "$(fmt "$(ratio 3three 3one "$CPU")" 3)" "-" "-"
errs=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /_errors=/) { split($i, kv, "="); s += kv[2] } } END { print s + 0 }' "$TMP/runs")
echo
echo "checks: wrk errors $errs; S3 GETs during case 1: $s3_1; S3 block fills of the R=2 cold reads:" \
    "$fills2 for $((COLD_RUNS * COLD / BS)) blocks"
logs=$(cat "$TMP"/shoald.*.log 2>/dev/null | grep -E ' (error|warn) ' | grep -v 'no seed answered' | head -n 5)
[ -z "$logs" ] || printf 'shoald logged warnings or errors:\n%s\n' "$logs"
exit 0
