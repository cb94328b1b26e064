#!/bin/bash
# What the gateway does with bytes a client controls (issue: untrusted
# input): aws-chunked bodies held to their declared length on PutObject and
# UploadPart (400, nothing written, the node lives), signed chunks checked on
# parts, write-through staging keyed by (part, ETag) and expired, client
# strings escaped in the log, and memory: 32 concurrent 64 MiB PUTs and 256
# concurrent cold GETs keep the node's peak RSS under memory tier + request
# budget + 64 MiB. Real shoald nodes in front of the real S3 server (Swift);
# see untrusted_checks.py.
. "$(dirname "$0")/lib.sh"
start_s3_server
s3_create_bucket lake
SANITIZED=0
case "$BUILD" in *asan*) SANITIZED=1 ;; esac
export SANITIZED

# node_config NAME BLOCK MEMORY REQUEST_MEMORY TTL [TENANTS]: a config on
# free ports with a file:// mount "local", the bucket as "lake", and "dead"
# (an S3 endpoint nobody listens on)
node_config() {
    local d=$T_TMP/$1
    mkdir -p "$d/local"
    cat >"$d.yaml" <<YAML
node:
  name: $1
  data_dir: $d/data
listen:
  s3: 127.0.0.1:0
  admin: 127.0.0.1:0
  peer: 127.0.0.1:0
cluster:
  block_size: $2
cache:
  memory: $3
  request_memory: $4
  multipart_staging_ttl: $5
mounts:
  - name: local
    ufs: file://$d/local
  - name: lake
    ufs: s3://lake/
    endpoint: $S3_ENDPOINT
    region: us-east-1
  - name: dead
    ufs: s3://lake/
    endpoint: http://127.0.0.1:9
    region: us-east-1
YAML
    if [ -n "${6:-}" ]; then
        cat >>"$d.yaml" <<YAML
tenants:
  - name: writer
    access_key: AKIDUNTRUSTED
    secret_key: untrusted-secret
    allow:
      - mount: lake
        access: readwrite
YAML
    fi
}

run_py() {  # NAME PHASE [VAR=VALUE...]: the checks of a phase against node NAME
    local name=$1 phase=$2 kv
    shift 2
    for kv in "$@"; do export "${kv?}"; done
    GW="http://$SHOALD_S3" ADMIN="http://$SHOALD_ADMIN" LOCAL="$T_TMP/$name/local" \
        LOG="$T_TMP/$name.log" PID="$SHOALD_PID" run_checks untrusted_checks.py "$phase"
}

node_config anon 64KiB 32MiB 64MiB 1h
start_shoald anon "$T_TMP/anon.yaml"
check "anonymous node starts" 0 $?
run_py anon anon
stop_shoald "$SHOALD_PID" TERM
check "anonymous node: clean exit" 0 "$STOP_STATUS"

node_config tenant 1MiB 32MiB 64MiB 2s yes
start_shoald tenant "$T_TMP/tenant.yaml"
check "node with a tenant starts" 0 $?
run_py tenant tenant TENANT_KEY=AKIDUNTRUSTED TENANT_SECRET=untrusted-secret
stop_shoald "$SHOALD_PID" TERM
check "node with a tenant: clean exit" 0 "$STOP_STATUS"

node_config mem 4MiB 64MiB 128MiB 1h
start_shoald mem "$T_TMP/mem.yaml"
check "memory node starts" 0 $?
run_py mem memory MEM_BOUND_MIB=$((64 + 128 + 64))
stop_shoald "$SHOALD_PID" TERM
check "memory node: clean exit" 0 "$STOP_STATUS"
finish
