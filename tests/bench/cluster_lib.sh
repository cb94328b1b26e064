# tests/bench/cluster_lib.sh: starting a cluster of shoald nodes on
# 127.0.0.1-N for the cluster benchmarks (source it after lib.sh, with TMP,
# BUILD, PY and die set; S3_ENDPOINT before the first node starts). Nodes
# mount the S3 bucket "bench". CLUSTER_EXTRA: more lines under cluster:;
# CACHE_MEMORY (512MiB): each node's memory tier.
declare -A PID GW ADMIN PEER

# cluster_cleanup: the EXIT trap: stops wrk (CHILD), the nodes and the S3
# server (S3SRV, in $TMP/s3), removes TMP
# shellcheck disable=SC2317 # called by the trap
cluster_cleanup() {
    [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
    stop_all
    "$S3SRV" stop "$TMP/s3" >/dev/null 2>&1
    rm -rf "$TMP"
}

stop_all() {
    local n
    for n in "${!PID[@]}"; do stop_pid "${PID[$n]}"; done
    PID=()
}
free_port() { # HOST: a port free for TCP and UDP
    "$PY" -c 'import socket, sys
while True:
    t = socket.socket(); t.bind((sys.argv[1], 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind((sys.argv[1], p)); print(p); break
    except OSError:
        t.close()' "$1"
}
fmt() { awk -v x="$1" -v p="$2" 'BEGIN { printf "%." p "f", x }'; }
met() { awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN { print ((op == ">=" ? r >= t : r <= t) ? "yes" : "NO") }'; }
metric() { curl -s "http://${ADMIN[$1]}/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
s3_gets() { grep -c " GET /" "$TMP/s3/log/proxy.log" 2>/dev/null || echo 0; }
# s3_get_bytes: bytes the S3 server has sent for GETs (its proxy log)
s3_get_bytes() {
    awk '$1 == "proxy-server:" && $5 == "GET" && $13 ~ /^[0-9]+$/ { t += $13 } END { printf "%.0f\n", t }' \
        "$TMP/s3/log/proxy.log" 2>/dev/null || echo 0
}

# node_start I R: writes node I's config (replication R, seeds: node 1)
# and starts it; node_wait I: until it has written its ports
node_start() {
    local i=$1 r=$2
    [ -n "${PEER[$i]:-}" ] || PEER[$i]=$(free_port 127.0.0.$i)
    mkdir -p "$TMP/nodes/$i"
    cat >"$TMP/nodes/$i.yaml" <<YAML
node:
  name: n$i
  data_dir: $TMP/nodes/$i/data
  zone: z$i
listen:
  s3: 127.0.0.$i:0
  admin: 127.0.0.$i:0
  peer: 127.0.0.$i:${PEER[$i]}
cluster:
  name: bench
  seeds: [127.0.0.1:${PEER[1]}]
  replication: $r
  block_size: 1MiB${CLUSTER_EXTRA:-}
cache:
  memory: ${CACHE_MEMORY:-512MiB}
mounts:
  - name: bench
    ufs: s3://bench/
    endpoint: $S3_ENDPOINT
    region: us-east-1
    metadata_ttl: 1h
YAML
    rm -f "$TMP/nodes/$i/data/shoald.ports"
    setsid "$BUILD/shoald" -c "$TMP/nodes/$i.yaml" </dev/null >>"$TMP/shoald.$i.log" 2>&1 &
    PID[$i]=$!
}
node_wait() {
    local i=$1
    for _ in $(seq 200); do
        [ -s "$TMP/nodes/$i/data/shoald.ports" ] && break
        kill -0 "${PID[$i]}" 2>/dev/null || die "node $i did not start: $(tail -n 5 "$TMP/shoald.$i.log")"
        sleep 0.1
    done
    GW[$i]=$(sed -n 's/^s3=//p' "$TMP/nodes/$i/data/shoald.ports")
    ADMIN[$i]=$(sed -n 's/^admin=//p' "$TMP/nodes/$i/data/shoald.ports")
}
# alive_count I: how many members node I sees alive
alive_count() { curl -s "http://${ADMIN[$1]}/v1/ring" | grep -o '"state":"alive"' | wc -l; }
# wait_alive N I...: until each node I sees N members alive (30 s at most)
wait_alive() {
    local n=$1 i t0
    shift
    t0=$(date +%s)
    for i in "$@"; do
        until [ "$(alive_count "$i")" = "$n" ]; do
            [ $(($(date +%s) - t0)) -lt 30 ] || { tail -n 5 "$TMP"/shoald.*.log >&2; die "the $n nodes did not converge: node $i sees $(curl -s "http://${ADMIN[$i]}/v1/ring" | grep -o '"name":"[^"]*","zone":"[^"]*","state":"[a-z]*"' | tr '\n' ' ')"; }
            sleep 0.1
        done
    done
}

# cluster N R: starts nodes 1..N (replication R) and waits until each sees N alive
cluster() {
    local n=$1 r=$2 i
    stop_all
    rm -rf "$TMP/nodes"
    PEER=()
    for i in $(seq "$n"); do node_start "$i" "$r"; done
    for i in $(seq "$n"); do node_wait "$i"; done
    wait_alive "$n" $(seq "$n")
}
