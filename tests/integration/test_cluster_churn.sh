#!/usr/bin/env bash
# tests/integration/test_cluster_churn.sh: four shoald nodes on 127.0.0.1-4
# (R=2, 1 MiB blocks, disk caches) keep serving while nodes come and go,
# and move no block through S3 while a copy lives anywhere (S3 GETs counted
# in the S3 server's own log, copies per block from /v1/blocks):
#   loss   n4 killed with SIGKILL: reads at once through the others, no S3
#          GET; then R copies of every block again, on the new owners
#   join   a new node (n4 with an empty disk) joins: it warms from the
#          others, no S3 GET, and holds what it owns
#   drain  n2 gets SIGTERM: it hands every block over, then exits; no S3 GET
#   spot   n2 again, with cluster.spot_notice_url served by this test (the
#          IMDSv2 token flow): a notice makes it drain and exit in time
#   pause  n3 stopped with SIGSTOP for 10 s, then resumed: it rejoins, and
#          no node fills anything from S3
#   hot    a block fetched 12 times by a node that owns no copy is kept there
#   kills  KILLS (5; `make soak`: 20) kill -9 events with restarts of n2-n4
#          while 4 readers read through n1: no read fails (cluster_churn_checks.py)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

KILLS=${KILLS:-5}
s3_cluster_setup
for n in 1 2 3 4; do PEER_PORT[$n]=$(free_port 127.0.0.$n); done
SEEDS="127.0.0.1:${PEER_PORT[1]}, 127.0.0.2:${PEER_PORT[2]}"
CLUSTER_YAML="  replication: 2
  block_size: 1MiB
  drain_timeout: 30s"
config() { # N [EXTRA]: node N's config, with a disk cache in its data dir
    node_config "$1" "$SEEDS" "$CLUSTER_YAML${2:+
$2}"
    cat >>"$T_TMP/n$1.yaml" <<YAML
cache:
  memory: 64MiB
  disks:
    - path: $T_TMP/n$1/data/cache
      size: 256MiB
YAML
}
for n in 1 2 3 4; do config $n; done
for n in 1 2 3 4; do start_node $n || finish; done
wait_states 15 "n1=alive n2=alive n3=alive n4=alive" 1 2 3 4
check "4 nodes see each other alive" 0 $?

export PROXY_LOG=$T_TMP/s3/log/proxy.log BLOCK_SIZE STATE=$T_TMP/state.json
# up N...: the env of the check scripts for nodes N...
up() {
    local n
    GWS="" ADMINS="" NAMES=""
    for n in "$@"; do
        GWS="$GWS ${NODE_S3[$n]}" ADMINS="$ADMINS ${NODE_ADMIN[$n]}" NAMES="$NAMES n$n"
    done
    export GWS ADMINS NAMES
}
up 1 2 3 4
run_checks cluster_churn_checks.py warm

# ---- loss: n4 killed -------------------------------------------------------------------------
kill -KILL "${NODE_PID[4]}"
wait "${NODE_PID[4]}" 2>/dev/null
wait_member 20 n4 dead 1 2 3
check "n4's death seen by the others" 0 $?
up 1 2 3
# two objects read at once (from the surviving copies), one left to repair
ONLY="t/b.bin t/c.bin" WHAT="right after n4's loss" run_checks cluster_churn_checks.py reads
WHAT="after n4's loss" run_checks cluster_churn_checks.py copies
pushed=0
for n in 1 2 3; do pushed=$((pushed + $(metric $n shoal_repair_blocks_pushed_total))); done
check "the survivors pushed the lost copies (repair)" 1 "$([ "$pushed" -gt 0 ] && echo 1 || echo 0)"

# ---- join: a new node ----------------------------------------------------------------------------
rm -rf "$T_TMP/n4/data"
start_node 4 || finish
wait_member 20 n4 alive 1 2 3 4 && wait_member 10 n1 alive 4 && wait_member 10 n2 alive 4 &&
    wait_member 10 n3 alive 4
check "a new n4 (empty disk) joins: every node sees every other alive" 0 $?
up 1 2 3 4
ONLY="t/b.bin" WHAT="right after a join" run_checks cluster_churn_checks.py reads
WHAT="after a join" run_checks cluster_churn_checks.py copies
check "the new node read nothing from S3" 0 "$(metric 4 shoal_fills_total)"

# ---- drain: SIGTERM ------------------------------------------------------------------------------
t0=$(date +%s%N)
stop_shoald "${NODE_PID[2]}" TERM
if [ "$STOP_STATUS" = hung ]; then # stop_shoald gives 10 s
    check "n2 drains and exits on SIGTERM" exited hung
else
    check "n2 drains and exits on SIGTERM (status 0)" 0 "$STOP_STATUS"
fi
echo "     (drain took $((($(date +%s%N) - t0) / 1000000)) ms)"
check_match "n2's log: every block handed over" "every block handed over handed=[1-9]" \
    "$(grep -a 'handed over' "$T_TMP/n2.log" | tail -1)"
wait_member 10 n2 left 1 3 4
check "the others saw n2 leave" 0 $?
up 1 3 4
WHAT="after n2's drain" WAIT=2 run_checks cluster_churn_checks.py copies

# ---- spot: a notice served by the test ----------------------------------------------------------
SPOT_PORT=$(free_port 127.0.0.1)
cat >"$T_TMP/spot.py" <<'PY'
import http.server, os, sys
port, flag = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        self.send_response(200 if ok else 400)
        self.end_headers()
        if ok:
            self.wfile.write(b"tok-123")
    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != "tok-123":
            self.send_response(401); self.end_headers(); return
        if self.path != "/latest/meta-data/spot/instance-action" or not os.path.exists(flag):
            self.send_response(404); self.end_headers(); return
        body = b'{"action": "terminate", "time": "2026-12-04T12:00:00Z"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
/usr/bin/python3 "$T_TMP/spot.py" "$SPOT_PORT" "$T_TMP/notice" &
SPOT_PID=$!
T_CLEANUP+=("kill $SPOT_PID")
config 2 "  spot_notice_url: http://127.0.0.1:$SPOT_PORT/latest/meta-data/spot/instance-action"
start_node 2 || finish
wait_member 20 n2 alive 1 2 3 4
check "n2 is back, with the spot watcher" 0 $?
up 1 2 3 4
WHAT="n2 back" run_checks cluster_churn_checks.py copies
sleep 6 # two polls answered 404: no drain
check "no notice: n2 still runs" 0 "$(kill -0 "${NODE_PID[2]}" 2>/dev/null; echo $?)"
touch "$T_TMP/notice"
t0=$(date +%s%N)
for i in $(seq 400); do kill -0 "${NODE_PID[2]}" 2>/dev/null || break; sleep 0.1; done
spot_ms=$((($(date +%s%N) - t0) / 1000000))
check "a spot notice makes n2 drain and exit within poll (5 s) + drain_timeout (30 s)" 1 \
    "$([ "$spot_ms" -lt 35000 ] && ! kill -0 "${NODE_PID[2]}" 2>/dev/null && echo 1 || echo 0)"
echo "     (notice to exit: $spot_ms ms)"
wait "${NODE_PID[2]}" 2>/dev/null
check "n2 exits 0 after the notice's drain" 0 $?
check_match "n2's log: the notice started the drain" "draining why=spot-notice" \
    "$(grep -a 'draining why=' "$T_TMP/n2.log" | tail -1)"
wait_member 10 n2 left 1 3 4
up 1 3 4
WHAT="after n2's spot drain" WAIT=2 run_checks cluster_churn_checks.py copies

# ---- pause: SIGSTOP for 10 s ---------------------------------------------------------------------
rm -f "$T_TMP/notice"
config 2
start_node 2 || finish
wait_member 20 n2 alive 1 2 3 4
up 1 2 3 4
WHAT="n2 back" run_checks cluster_churn_checks.py copies
export FILLS_FILE=$T_TMP/fills.json
echo '{}' >"$FILLS_FILE"
SAVE=1 run_checks cluster_churn_checks.py fills
kill -STOP "${NODE_PID[3]}"
sleep 10
kill -CONT "${NODE_PID[3]}"
wait_member 20 n3 alive 1 2 3 4
check "n3 paused 10 s rejoins" 0 $?
WHAT="after n3's pause" run_checks cluster_churn_checks.py copies
WHAT="n3 paused and resumed" run_checks cluster_churn_checks.py fills

# ---- hot: a block read again and again through a node that owns no copy ------------------------
run_checks cluster_churn_checks.py hot

# ---- kills: kill -9 with restarts under continuous reads ----------------------------------------
up 1
export OUT=$T_TMP/reads.jsonl STOP_FILE=$T_TMP/stop KILLS_FILE=$T_TMP/kills
: >"$KILLS_FILE"
PYTHONPATH=$ROOT/tests/integration /usr/bin/python3 "$ROOT/tests/integration/cluster_churn_checks.py" \
    reader >"$T_TMP/reader.log" 2>&1 &
READER=$!
sleep 2
for k in $(seq "$KILLS"); do
    n=$((2 + k % 3))
    echo "$(date +%s.%N) n$n" >>"$KILLS_FILE"
    kill -KILL "${NODE_PID[$n]}"
    wait "${NODE_PID[$n]}" 2>/dev/null
    sleep 2
    start_node $n || finish
    wait_member 20 "n$n" alive 1 2 3 4 || echo "     (kill $k: n$n not seen alive again in 20 s)"
    sleep 1
done
touch "$STOP_FILE"
wait $READER
run_checks cluster_churn_checks.py report
finish
