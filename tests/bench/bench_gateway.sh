#!/bin/bash
# tests/bench/bench_gateway.sh BUILD: the S3 gateway of one shoald against
# nginx 1.22 (proxy_cache + slice 1m) in front of the same S3 server (Swift,
# tests/s3/s3-server), on this machine, in the same run. Run by
# tests/bench/run.sh; prints figures as ratios, passes or fails nothing.
#
#   1. warm caches, wrk with 2 threads and 16 connections, every request a
#      presigned (query-string SigV4) URL that the gateway verifies:
#      (a) random 1 MiB ranges of a 256 MiB object, (b) 4 KiB objects, one
#      of 1,000 at random per request, (c) a 64 MiB object read whole;
#   2. a cold 64 MiB read through the gateway (a fresh key each run) against
#      the same read straight from S3 (curl on a presigned URL);
#   3. shoald's RSS (VmRSS) with 100,000 cached blocks: 100,000 one-block
#      objects (4 KiB, cluster.block_size 64KiB) of a file:// mount, read
#      once through the gateway, memory tier 64 MiB; then the RSS after a
#      restart (the disk tier's index only).
# Each figure is the median of RUNS runs; the ratio column is the median of
# the per-run ratios shoal/reference (both measured back to back, the order
# alternating). nginx's $upstream_cache_status and the S3 server's request
# log show that both caches serve the warm runs without going to S3.
#
# Env: RUNS (3), COLD_RUNS (5), DURATION (10: seconds per wrk run),
# BLOCK_SIZE (4MiB, shoald's default; cases 1 and 2), MEMORY (512MiB, the
# memory tier of cases 1 and 2: it holds the working set, as nginx's page
# cache does), META_TTL (1h: nginx's entries are valid for a day; with
# shoald's default 60s each hot object's metadata is renewed with a HEAD
# every 45-52 s, in the background, and the S3 server's CPU for those
# HEADs comes out of the same two cores), RSS (1; 0 skips case 3). Needs nginx with the slice
# module and wrk (deploy/deps.sh bench), the test S3 server and boto3
# (deploy/deps.sh test), CASES (abc: which warm cases run, e.g. CASES=b).
# Takes about 5 minutes.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
RUNS=${RUNS:-3}
COLD_RUNS=${COLD_RUNS:-5}
DUR=${DURATION:-10}
BLOCK_SIZE=${BLOCK_SIZE:-4MiB}
MEMORY=${MEMORY:-512MiB}
META_TTL=${META_TTL:-1h}
DO_RSS=${RSS:-1}
CASES=${CASES:-abc}
PY=/usr/bin/python3
S3SRV=$ROOT/tests/s3/s3-server
HERE=$ROOT/tests/bench/gateway
OBJ=$HERE/objects.py
BIG=$((256 << 20))
WHOLE=$((64 << 20))
NSMALL=1000
SMALL=4096
NRSS=100000
CONNS=16
THREADS=2
TENANT_KEY=AKIDSHOALBENCH
TENANT_SECRET=shoal-bench-secret
TCK=$(getconf CLK_TCK)

# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"

die() { echo "bench_gateway: $*" >&2; exit 1; }
[ -x "$BUILD/shoald" ] || die "$BUILD/shoald missing (make all)"
command -v wrk >/dev/null || die "wrk missing (deploy/deps.sh bench)"
command -v nginx >/dev/null || die "nginx missing (deploy/deps.sh bench)"
nginx -V 2>&1 | grep -q -- --with-http_slice_module || die "this nginx has no slice module"
"$PY" -c 'import boto3' 2>/dev/null || die "boto3 missing on $PY (deploy/deps.sh test)"

TMP=$(mktemp -d /tmp/shoal-bench-gw.XXXXXX)
SHOALD_PID=
NGINX_PID=
CHILD=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
    [ -n "$SHOALD_PID" ] && stop_pid "$SHOALD_PID"
    [ -n "$NGINX_PID" ] && kill -TERM -- "-$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    "$S3SRV" stop "$TMP/s3" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM



free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_ticks PID...: user + system clock ticks of these processes so far
cpu_ticks() {
    local p t=0
    for p in "$@"; do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

# s3_requests METHOD: how many METHOD requests the S3 server has logged
s3_requests() { grep -c " $1 /" "$TMP/s3/log/proxy.log" 2>/dev/null || echo 0; }

# start_shoald CONFIG LOG: sets SHOALD_PID, GW (host:port), ADMIN
start_shoald() {
    local dir
    dir=$(awk '/^ *data_dir:/ {print $2; exit}' "$1")
    rm -f "$dir/shoald.ports"
    setsid "$BUILD/shoald" -c "$1" </dev/null >>"$2" 2>&1 &
    SHOALD_PID=$!
    for _ in $(seq 200); do
        if [ -s "$dir/shoald.ports" ]; then
            GW=$(sed -n 's/^s3=//p' "$dir/shoald.ports")
            ADMIN=$(sed -n 's/^admin=//p' "$dir/shoald.ports")
            return 0
        fi
        kill -0 "$SHOALD_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$2" >&2
    die "shoald did not come up"
}

metric() { curl -s "http://$ADMIN/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# parallel_get BASE URLFILE: GETs every path of URLFILE once, 16 at a time;
# sets GOT to how many answered 200
parallel_get() {
    awk -v b="$1" '{printf "url = \"%s%s\"\noutput = /dev/null\n", b, $0}' "$2" >"$TMP/curl.cfg"
    bg curl -s -Z --parallel-max 16 -w '%{http_code}\n' -K "$TMP/curl.cfg" \
        >"$TMP/curl.out" 2>/dev/null
    GOT=$(grep -c '^200$' "$TMP/curl.out")
}

# ---- the S3 server and the objects -----------------------------------------------------------
echo "setting up: S3 server, objects of $((BIG >> 20)) MiB, $((WHOLE >> 20)) MiB," \
    "$COLD_RUNS x $((WHOLE >> 20)) MiB, $NSMALL x $SMALL B"
if ! "$S3SRV" start "$TMP/s3" >"$TMP/s3.env" 2>"$TMP/s3.err"; then
    cat "$TMP/s3.err" >&2
    die "S3 server did not start"
fi
set -a
# shellcheck disable=SC1091
. "$TMP/s3.env"
set +a
S3HOST=${S3_ENDPOINT#http://}
t0=$(date +%s)
bg "$PY" "$OBJ" put bench big.bin=$BIG whole.bin=$WHOLE "small/%$NSMALL=$SMALL" \
    "cold/%$COLD_RUNS=$WHOLE" || die "upload failed"
"$PY" "$OBJ" presign "$S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" bench \
    "$TMP/s3_big.txt:big.bin" "$TMP/s3_whole.txt:whole.bin" "$TMP/s3_small.txt:small/%$NSMALL" \
    "$TMP/s3_cold.txt:cold/%$COLD_RUNS" || die "presigning failed"
echo "(uploads took $(($(date +%s) - t0)) s)"

# ---- nginx -----------------------------------------------------------------------------------
N=$TMP/nginx
mkdir -p "$N/tmp" "$N/cache"
for f in big whole small; do
    awk '{u=$0; sub(/\?.*/, "", u); printf "\"%s\" \"%s\";\n", u, $0}' "$TMP/s3_$f.txt" \
        >>"$N/map.conf"
    sed 's/?.*//' "$TMP/s3_$f.txt" >"$TMP/ng_$f.txt"
done
user=
[ "$(id -u)" = 0 ] && user="user root;"
for _ in 1 2 3; do # a port taken meanwhile: try another
    NPORT=$(free_port)
    sed -e "s|@DIR@|$N|g; s|@PORT@|$NPORT|g; s|@S3HOST@|$S3HOST|g; s|@USER@|$user|" \
        "$HERE/nginx.conf.in" >"$N/nginx.conf"
    setsid nginx -p "$N" -c "$N/nginx.conf" -e "$N/error.log" </dev/null >>"$N/stdout.log" 2>&1 &
    NGINX_PID=$!
    for _ in $(seq 100); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NPORT/none")
        [ "$code" = 404 ] && break 2
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM -- "-$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
    NGINX_PID=
done
[ -n "$NGINX_PID" ] || { tail "$N/error.log" >&2; die "nginx did not come up"; }
NG=http://127.0.0.1:$NPORT
nginx_workers() { pgrep -P "$NGINX_PID"; }

# ---- shoald ----------------------------------------------------------------------------------
D=$TMP/node
mkdir -p "$D"
cat >"$TMP/shoald.yaml" <<YAML
node:
  name: bench1
  data_dir: $D/data
listen:
  s3: 127.0.0.1:0
  admin: 127.0.0.1:0
  peer: 127.0.0.1:0
cluster:
  block_size: $BLOCK_SIZE
cache:
  memory: $MEMORY
  disks:
    - path: $D/disk1
      size: 2GiB
mounts:
  - name: bench
    ufs: s3://bench/
    endpoint: $S3_ENDPOINT
    region: us-east-1
    metadata_ttl: $META_TTL
tenants:
  - name: bench
    access_key: $TENANT_KEY
    secret_key: $TENANT_SECRET
    allow:
      - mount: bench
        access: read
YAML
start_shoald "$TMP/shoald.yaml" "$TMP/shoald.log"
"$PY" "$OBJ" presign "http://$GW" "$TENANT_KEY" "$TENANT_SECRET" bench \
    "$TMP/gw_big.txt:big.bin" "$TMP/gw_whole.txt:whole.bin" "$TMP/gw_small.txt:small/%$NSMALL" \
    "$TMP/gw_cold.txt:cold/%$COLD_RUNS" || die "presigning failed"

# ---- warm both caches, check that they serve -------------------------------------------------
t0=$(date +%s)
for f in big whole; do
    parallel_get "$NG" "$TMP/ng_$f.txt"
    [ "$GOT" = 1 ] || die "nginx: GET $f failed"
    parallel_get "http://$GW" "$TMP/gw_$f.txt"
    [ "$GOT" = 1 ] || die "shoald: GET $f failed"
done
parallel_get "$NG" "$TMP/ng_small.txt"
[ "$GOT" = $NSMALL ] || die "nginx: small GETs failed ($GOT of $NSMALL)"
parallel_get "http://$GW" "$TMP/gw_small.txt"
[ "$GOT" = $NSMALL ] || die "shoald: small GETs failed ($GOT of $NSMALL)"
cat "$TMP/ng_big.txt" "$TMP/ng_whole.txt" "$TMP/ng_small.txt" >"$TMP/ng_all.txt"
ng_hits=$("$PY" "$OBJ" warm "$NG" "$TMP/ng_all.txt" X-Cache-Status)
cat "$TMP/gw_big.txt" "$TMP/gw_whole.txt" "$TMP/gw_small.txt" >"$TMP/gw_all.txt"
m0=$(metric shoal_cache_misses_total)
gw_ok=$("$PY" "$OBJ" warm "http://$GW" "$TMP/gw_all.txt")
m1=$(metric shoal_cache_misses_total)
echo "warmed in $(($(date +%s) - t0)) s; second pass: nginx $ng_hits (X-Cache-Status: HIT);" \
    "shoald $gw_ok, cache misses $((m1 - m0))"

# ---- 2. cold 64 MiB reads: straight from S3, then through the gateway (a fresh key each) -----
cold_direct=()
cold_gw=()
cold_ratio=()
for r in $(seq "$COLD_RUNS"); do
    u=$(sed -n "${r}p" "$TMP/s3_cold.txt")
    a=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' "$S3_ENDPOINT$u")
    u=$(sed -n "${r}p" "$TMP/gw_cold.txt")
    b=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' "http://$GW$u")
    if [ "${a% *}" != "200 $WHOLE" ] || [ "${b% *}" != "200 $WHOLE" ]; then
        die "cold read $r: S3 '$a', gateway '$b'"
    fi
    cold_direct+=("${a##* }")
    cold_gw+=("${b##* }")
    cold_ratio+=("$(awk -v a="${a##* }" -v b="${b##* }" 'BEGIN {print b / a}')")
    echo "cold run $r: S3 ${a##* } s, gateway ${b##* } s"
done

# ---- 1. warm runs ----------------------------------------------------------------------------
# run_wrk NAME BASE WHO ARGS...: one wrk run; appends "NAME WHO k=v..." to $TMP/runs
# busy_split PID...: each busy thread's share of the CPU ticks since the
# thread_ticks snapshot in $TMP/threads (workers of nginx, loops of shoald)
thread_ticks() {
    local p t
    for p in "$@"; do
        for t in /proc/"$p"/task/*; do
            echo "$t $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)"
        done
    done
}
busy_split() {
    thread_ticks "$@" | awk 'NR == FNR { a[$1] = $2; next }
        { d = $2 - a[$1]; if (d > 0) { v[++n] = d; s += d } }
        END { for (i = 1; i <= n; i++) if (v[i] * 20 >= s) printf "%s%d", (o++ ? "/" : ""), 100 * v[i] / s }' \
        "$TMP/threads" -
}
run_wrk() {
    local name=$1 base=$2 who=$3 c0 c1 out pids split
    shift 3
    if [ "$who" = nginx ]; then pids=$(nginx_workers); else pids=$SHOALD_PID; fi
    # shellcheck disable=SC2086
    thread_ticks $pids >"$TMP/threads"
    # shellcheck disable=SC2086
    c0=$(cpu_ticks $pids)
    bg wrk -t$THREADS -c$CONNS -d"${DUR}s" --timeout 10s -s "$HERE/wrk.lua" "$base" -- "$@" \
        >"$TMP/wrk.out"
    out=$(grep '^wrk ' "$TMP/wrk.out")
    [ -n "$out" ] || die "wrk failed: case $name against $who"
    # shellcheck disable=SC2086
    c1=$(cpu_ticks $pids)
    # shellcheck disable=SC2086
    split=$(busy_split $pids)
    echo "$name $who ${out#wrk } cpu_ticks=$((c1 - c0))" >>"$TMP/runs"
    echo "  $name $who: $(awk -v l="${out#wrk }" 'BEGIN {
        n = split(l, f, " "); for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
        printf "%.0f req/s, %.1f MB/s, p99 %.2f ms, errors %d/%d",
            v["requests"] / v["seconds"], v["bytes"] / v["seconds"] / 1e6, v["p99_us"] / 1000,
            v["status_errors"], v["socket_errors"] }'), CPU split ${split:-?}%"
}
: >"$TMP/runs"
s3_before=$(s3_requests GET)
s3_heads_before=$(s3_requests HEAD)
gw_miss_before=$(metric shoal_cache_misses_total)
echo "warm runs: wrk -t$THREADS -c$CONNS -d${DUR}s, $RUNS runs"
for r in $(seq "$RUNS"); do
    if [ $((r % 2)) = 1 ]; then order="nginx shoal"; else order="shoal nginx"; fi
    for c in $(echo "$CASES" | grep -o '[abc]'); do
        for who in $order; do
            if [ "$who" = nginx ]; then base=$NG pre=ng; else base=http://$GW pre=gw; fi
            case $c in
            a) run_wrk a "$base" "$who" range "$TMP/${pre}_big.txt" "$BIG" 1048576 ;;
            b) run_wrk b "$base" "$who" paths "$TMP/${pre}_small.txt" ;;
            c) run_wrk c "$base" "$who" paths "$TMP/${pre}_whole.txt" ;;
            esac
        done
    done
done
s3_during=$(($(s3_requests GET) - s3_before))
s3_heads_during=$(($(s3_requests HEAD) - s3_heads_before))
gw_miss_during=$(($(metric shoal_cache_misses_total) - gw_miss_before))
ng_after=$("$PY" "$OBJ" warm "$NG" "$TMP/ng_all.txt" X-Cache-Status)

# ---- 3. RSS with 100,000 cached blocks -------------------------------------------------------
rss_fill=
rss_restart=
if [ "$DO_RSS" = 1 ]; then
    stop_pid "$SHOALD_PID"
    SHOALD_PID=
    R=$TMP/rss
    mkdir -p "$R/ufs/o"
    "$PY" -c 'import os, sys
for i in range(int(sys.argv[2])):
    with open("%s/%06d" % (sys.argv[1], i), "wb") as f:
        f.truncate(int(sys.argv[3]))' "$R/ufs/o" "$NRSS" "$SMALL"
    cat >"$TMP/rss.yaml" <<YAML
node:
  name: rss1
  data_dir: $R/data
listen:
  s3: 127.0.0.1:0
  admin: 127.0.0.1:0
  peer: 127.0.0.1:0
cluster:
  block_size: 64KiB
cache:
  memory: 64MiB
  disks:
    - path: $R/disk1
      size: 2GiB
mounts:
  - name: bench
    ufs: file://$R/ufs
YAML
    start_shoald "$TMP/rss.yaml" "$TMP/rss.log"
    seq -f "/bench/o/%06g" 0 $((NRSS - 1)) >"$TMP/rss_paths.txt"
    t0=$(date +%s)
    parallel_get "http://$GW" "$TMP/rss_paths.txt"
    sleep 1 # the disk writes queued by the last fills
    rss_fill=$(rss_kib "$SHOALD_PID")
    rss_mem=$(metric 'shoal_store_blocks{tier="memory"}')
    rss_disk=$(metric 'shoal_store_blocks{tier="disk"}')
    echo "RSS: $GOT of $NRSS objects read in $(($(date +%s) - t0)) s; blocks in memory $rss_mem," \
        "on disk $rss_disk; VmRSS $((rss_fill / 1024)) MiB"
    stop_pid "$SHOALD_PID"
    start_shoald "$TMP/rss.yaml" "$TMP/rss.log" # indexes the disk tier before it is ready
    rss_restart=$(rss_kib "$SHOALD_PID")
    echo "RSS after a restart: $(metric 'shoal_store_blocks{tier="disk"}') blocks indexed" \
        "on disk, VmRSS $((rss_restart / 1024)) MiB"
fi

# ---- the table -------------------------------------------------------------------------------
# fig CASE WHO EXPR: median over runs of an awk expression of the run's fields
fig() {
    awk -v c="$1" -v w="$2" '$1 == c && $2 == w {
        for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print '"$3"' }' "$TMP/runs" | med
}
# pratio CASE EXPR: median over runs of shoal/nginx of EXPR
pratio() {
    awk -v c="$1" '$1 == c { delete v
        for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        x[$2, ++n[$2]] = '"$2"' }
        END { for (i = 1; i <= n["shoal"] && i <= n["nginx"]; i++)
            print x["shoal", i] / x["nginx", i] }' "$TMP/runs" | med
}
RPS='v["requests"] / v["seconds"]'
P99='v["p99_us"] / 1000'
GBS='v["bytes"] / v["seconds"] / 1e9'
CPU='v["cpu_ticks"] / '"$TCK"' * 1e6 / v["requests"]'
CPUGB='v["cpu_ticks"] / '"$TCK"' / (v["bytes"] / 1e9)'
fmt() { awk -v x="$1" -v p="$2" 'BEGIN { printf "%." p "f", x }'; }
# met RATIO OP LIMIT: yes or NO
met() {
    awk -v r="$1" -v op="$2" -v t="$3" \
        'BEGIN { print ((op == ">=" ? r >= t : r <= t) ? "yes" : "NO") }'
}
# row CASE REFERENCE SHOAL RATIO TARGET MET
row() { printf '%-44s %12s %12s %9s %-22s %s\n' "$@" | sed 's/ *$//'; }
# wrow LABEL CASE EXPR DIGITS TARGET OP LIMIT: a row of the wrk runs
wrow() {
    local r m=
    r=$(pratio "$2" "$3")
    if [ -n "$6" ]; then m=$(met "$r" "$6" "$7"); elif [ -n "$5" ]; then m=-; fi
    row "$1" "$(fmt "$(fig "$2" nginx "$3")" "$4")" "$(fmt "$(fig "$2" shoal "$3")" "$4")" \
        "$(fmt "$r" 3)" "$5" "$m"
}
mib() { fmt "$(awk -v k="$1" 'BEGIN { print k / 1024 }')" 1; }

echo
echo "shoal gateway (block_size $BLOCK_SIZE, memory tier $MEMORY)"
echo "vs nginx 1.22 proxy_cache + slice 1m, same S3 server, same machine ($(nproc) cores)," \
    "$(date -u +%F)"
echo "medians of $RUNS runs ($COLD_RUNS for case 2); ratio = median of per-run shoal/reference"
row "case" "reference" "shoal" "ratio" "target" "met?"
wrow "1a 1 MiB random ranges of 256 MiB, req/s" a "$RPS" 0 ">= 1.0 x nginx" ">=" 1
wrow "1a   p99 latency, ms" a "$P99" 2 "<= nginx" "<=" 1
wrow "1b 4 KiB objects (1,000), req/s" b "$RPS" 0 ">= 1.0 x nginx" ">=" 1
wrow "1b   p99 latency, ms" b "$P99" 2 "<= nginx" "<=" 1
wrow "1c 64 MiB object read whole, GB/s" c "$GBS" 2 "(none)" "" ""
r=$(printf '%s\n' "${cold_ratio[@]}" | med)
row "2  cold 64 MiB read, s (ref: S3 direct)" "$(printf '%s\n' "${cold_direct[@]}" | med)" \
    "$(printf '%s\n' "${cold_gw[@]}" | med)" "$(fmt "$r" 3)" "<= 1.10 x direct" \
    "$(met "$r" "<=" 1.10)"
if [ -n "$rss_fill" ]; then
    row "3  VmRSS, 100,000 blocks, memory tier 64 MiB" - "$(mib "$rss_fill") MiB" - \
        "<= 128 MiB (64 + 64)" "$(met "$rss_fill" "<=" $((128 * 1024)))"
    row "3    after a restart (disk index only)" - "$(mib "$rss_restart") MiB" - \
        "<= 64 MiB" "$(met "$rss_restart" "<=" $((64 * 1024)))"
fi
echo
row "server CPU (user+sys), same runs" nginx shoal ratio
wrow "1a us per request" a "$CPU" 0 "" "" ""
wrow "1b us per request" b "$CPU" 0 "" "" ""
wrow "1c s per GB" c "$CPUGB" 3 "" "" ""
errs=$(awk '{ for (i = 3; i <= NF; i++) if ($i ~ /_errors=/) { split($i, kv, "="); s += kv[2] } }
    END { print s + 0 }' "$TMP/runs")
echo
echo "checks: wrk errors (non-2xx, socket) $errs; S3 GETs during the warm runs $s3_during" \
    "(both caches; HEADs $s3_heads_during: shoald's background metadata renewals)," \
    "shoald cache misses $gw_miss_during; nginx after the runs: $ng_after X-Cache-Status: HIT"
echo "the issue's reference on this machine type: nginx 1a 2,526 req/s; 1b 60,487 req/s," \
    "p99 2.8 ms; 1c 2.5 GB/s"
logs=$(cat "$TMP/shoald.log" "$TMP/rss.log" 2>/dev/null | grep -E ' (error|warn) ' | head -n 5)
[ -z "$logs" ] || printf 'shoald logged warnings or errors:\n%s\n' "$logs"
exit 0
