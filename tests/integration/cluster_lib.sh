# tests/integration/cluster_lib.sh: what the cluster tests share (source it
# after lib.sh): node configs on 127.0.0.N, starting nodes by number, and
# reading a node's view from its /v1/ring.

# free_port HOST: a port free for both UDP and TCP on HOST
free_port() {
    ${SHOALD_WRAP:-} /usr/bin/python3 - "$1" <<'PY'
import socket, sys
host = sys.argv[1]
while True:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind((host, 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind((host, port))
    except OSError:
        t.close()
        continue
    print(port)
    break
PY
}

# node_config N SEEDS [EXTRA_YAML_LINES_FOR_CLUSTER]: writes $T_TMP/nN.yaml,
# a node named nN on 127.0.0.N (peer port PEER_PORT[N]), seeds SEEDS
# ("a:p, b:p"), cluster settings from KEY_FILE and CLUSTER_NAME when set;
# the mount "lakehouse" is MOUNT_UFS (default: a directory of the node's
# own) with MOUNT_EXTRA's lines (indented 4) under it.
declare -A PEER_PORT
node_config() {
    local n=$1 seeds=$2 extra=${3:-}
    local dir=$T_TMP/n$n
    mkdir -p "$dir/ufs"
    [ -n "${PEER_PORT[$n]:-}" ] || PEER_PORT[$n]=$(free_port "127.0.0.$n")
    {
        echo "node:"
        echo "  name: n$n"
        echo "  data_dir: $dir/data"
        echo "  zone: z$((n % 3))"
        echo "listen:"
        echo "  admin: 127.0.0.$n:0"
        echo "  s3: 127.0.0.$n:0"
        echo "  peer: 127.0.0.$n:${PEER_PORT[$n]}"
        echo "cluster:"
        echo "  name: ${CLUSTER_NAME:-itest}"
        echo "  seeds: [$seeds]"
        [ -z "${KEY_FILE:-}" ] || echo "  secret_file: $KEY_FILE"
        [ -z "$extra" ] || echo "$extra"
        echo "mounts:"
        echo "  - name: lakehouse"
        echo "    ufs: ${MOUNT_UFS:-file://$dir/ufs}"
        [ -z "${MOUNT_EXTRA:-}" ] || echo "$MOUNT_EXTRA"
    } >"$T_TMP/n$n.yaml"
}

# start_node N: starts node N from $T_TMP/nN.yaml; sets NODE_PID[N],
# NODE_ADMIN[N] and NODE_S3[N]
declare -A NODE_PID NODE_ADMIN NODE_S3
start_node() {
    start_shoald "n$1" "$T_TMP/n$1.yaml" || return 1
    NODE_PID[$1]=$SHOALD_PID
    NODE_ADMIN[$1]=$SHOALD_ADMIN
    NODE_S3[$1]=$SHOALD_S3
}

# view N: node N's /v1/ring into $T_TMP/view.N.json; 1 if it does not answer
view() {
    ${SHOALD_WRAP:-} curl -sf --max-time 2 "http://${NODE_ADMIN[$1]}/v1/ring" -o "$T_TMP/view.$1.json"
}

# states N: node N's view as "name=state" lines, sorted (nothing if it does
# not answer)
states() {
    view "$1" || return 0
    /usr/bin/python3 -c 'import json,sys
for m in json.load(open(sys.argv[1]))["members"]:
    print("%s=%s" % (m["name"], m["state"]))' "$T_TMP/view.$1.json" | sort
}

# member_field N NAME FIELD: FIELD of member NAME in node N's view
member_field() {
    view "$1" || return 0
    /usr/bin/python3 -c 'import json,sys
for m in json.load(open(sys.argv[1]))["members"]:
    if m["name"] == sys.argv[2]: print(m[sys.argv[3]])' "$T_TMP/view.$1.json" "$2" "$3"
}

# metric N NAME_WITH_LABELS: a /metrics value of node N (0 when absent)
metric() {
    ${SHOALD_WRAP:-} curl -sf --max-time 2 "http://${NODE_ADMIN[$1]}/metrics" |
        awk -v k="$2" '$1 == k {print $2; found=1} END {if (!found) print 0}'
}

# wait_nodes SECONDS TEST N...: waits until "TEST N" succeeds for every
# node N; sets WAITED_MS; 1 on timeout
wait_nodes() {
    local limit=$1 test=$2 t0 n ok
    shift 2
    t0=$(date +%s%N)
    while :; do
        ok=1
        for n in "$@"; do
            $test "$n" || { ok=0; break; }
        done
        WAITED_MS=$((($(date +%s%N) - t0) / 1000000))
        [ $ok = 1 ] && return 0
        [ $WAITED_MS -ge $((limit * 1000)) ] && return 1
        sleep 0.05
    done
}

# wait_states SECONDS WANT N...: waits until every node N's states() is
# WANT (lines joined by spaces); sets WAITED_MS; 1 on timeout
wait_states() {
    WANT_STATES=$2
    local limit=$1
    shift 2
    wait_nodes "$limit" states_are "$@"
}
states_are() { [ "$(states "$1" | tr '\n' ' ' | sed 's/ $//')" = "$WANT_STATES" ]; }

# wait_member SECONDS NAME STATE N...: waits until the view of every node N
# has a member NAME in STATE (a name a replaced node had too may also be
# listed in another state); sets WAITED_MS; 1 on timeout
wait_member() {
    WANT_MEMBER="$2=$3"
    local limit=$1
    shift 3
    wait_nodes "$limit" member_is "$@"
}
member_is() { states "$1" | grep -qx -- "$WANT_MEMBER"; }

# s3_cluster_setup: the S3 server with the bucket "lakehouse", a cluster key
# in KEY_FILE, 1 MiB blocks, and the mount over the bucket (metadata_ttl 1h)
s3_cluster_setup() {
    start_s3_server
    s3_create_bucket lakehouse
    "$BUILD/shoal" keygen >"$T_TMP/key"
    KEY_FILE=$T_TMP/key
    BLOCK_SIZE=1048576
    MOUNT_UFS=s3://lakehouse/
    MOUNT_EXTRA="    endpoint: $S3_ENDPOINT
    region: us-east-1
    metadata_ttl: 1h"
}
