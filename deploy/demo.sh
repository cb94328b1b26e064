#!/bin/bash
# deploy/demo.sh BUILD: the README's demo (`make demo`).
#
# Replays the Trino + Alluxio + MinIO tutorial's scenario with shoal: a local
# S3 server (Swift, checks signatures), one shoald in front of it, and an
# unmodified S3 client (Debian's aws-cli) writing through the cache and
# reading back; then the objects are deleted from S3 behind the cache's back
# and are still served. Ends with the node's metrics and the placement the
# cluster will use. Stops what it started unless KEEP=1.
#
# DEMO_DIR: where it works (default: a new /tmp/shoal-demo.XXXXXX).
# DEMO_AFTER_UPLOAD: a program run after step 4, while the files are in S3,
# with S3_ENDPOINT and the S3 server's keys in its environment; the demo
# fails if it does. tests/integration/test_demo.sh lists S3 there itself.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
W=${DEMO_DIR:-$(mktemp -d /tmp/shoal-demo.XXXXXX)}
S3SRV=$ROOT/tests/s3/s3-server
AWS=/usr/bin/aws
PID=

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
# same A B CLAIM: prints CLAIM when A and B hold the same bytes, else fails the demo
same() {
    if cmp -s "$1" "$2"; then
        echo "$3"
    else
        echo "demo: FAILED: $3 is not true ($1 and $2 differ)" >&2
        exit 1
    fi
}
cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo
        echo "KEEP=1: left running. S3: $S3_ENDPOINT  gateway: http://$GW  admin: http://$ADMIN"
        echo "stop with: kill $PID; $S3SRV stop $W/s3"
        return
    fi
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    "$S3SRV" stop "$W/s3" >/dev/null 2>&1 || true
    echo
    echo "demo: stopped everything it started (KEEP=1 leaves it running)"
}
trap cleanup EXIT

say "1. A local S3 server (OpenStack Swift + s3api: verifies SigV4 like AWS)"
set -a
eval "$("$S3SRV" start "$W/s3" 0)"
set +a
echo "S3 endpoint: $S3_ENDPOINT"
export AWS_CONFIG_FILE=$W/aws.cfg AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
printf '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n' >"$AWS_CONFIG_FILE"
s3direct() { "$AWS" --endpoint-url "$S3_ENDPOINT" "$@"; }
run s3direct s3 mb s3://lakehouse

say "2. One shoal node in front of it: bucket 'lakehouse' is a mount"
mkdir -p "$W/node"
cat >"$W/shoald.yaml" <<YAML
node:
  name: demo-1
  data_dir: $W/node/data
listen:
  s3: 127.0.0.1:0
  admin: 127.0.0.1:0
  peer: 127.0.0.1:0
cache:
  memory: 128MiB
  disks:
    - path: $W/node/disk1
      size: 1GiB
mounts:
  - name: lakehouse
    ufs: s3://lakehouse/
    endpoint: $S3_ENDPOINT
tenants:
  - name: trino
    access_key: AKIDTRINODEMO
    secret_key: trino-demo-secret
    allow:
      - mount: lakehouse
        access: readwrite
YAML
sed -n '/^mounts:/,$p' "$W/shoald.yaml"
"$BUILD/shoald" -c "$W/shoald.yaml" >"$W/shoald.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -s "$W/node/data/shoald.ports" ] && break; sleep 0.1; done
GW=$(sed -n 's/^s3=//p' "$W/node/data/shoald.ports")
ADMIN=$(sed -n 's/^admin=//p' "$W/node/data/shoald.ports")
echo "gateway: http://$GW   admin: http://$ADMIN"
gw() { AWS_ACCESS_KEY_ID=AKIDTRINODEMO AWS_SECRET_ACCESS_KEY=trino-demo-secret "$AWS" --endpoint-url "http://$GW" "$@"; }

say "3. Write a table's files through the gateway (write-through)"
mkdir -p "$W/customer"
for i in 0 1 2; do
    /usr/bin/python3 -c "import sys,random; random.seed($i); sys.stdout.write(''.join('%d|Customer#%09d|%s\n' % (n, n, random.choice(['BUILDING','MACHINERY','AUTOMOBILE'])) for n in range($i*50000, ($i+1)*50000)))" >"$W/customer/part-$i.orc"
done
run gw s3 cp --only-show-errors --recursive "$W/customer" s3://lakehouse/customer/
echo "uploaded: $(ls "$W/customer" | tr '\n' ' ')"

say "4. They landed in S3 (listed directly from the S3 server)"
run s3direct s3 ls s3://lakehouse/customer/
[ -z "${DEMO_AFTER_UPLOAD:-}" ] || "$DEMO_AFTER_UPLOAD"

say "5. Read them back through the gateway (cache hits)"
run gw s3 cp --only-show-errors s3://lakehouse/customer/part-1.orc "$W/part-1.read"
head -n 3 "$W/part-1.read"
gw s3 cp --only-show-errors --recursive s3://lakehouse/customer/ "$W/back"
same "$W/customer/part-2.orc" "$W/back/part-2.orc" "read back: identical bytes"

say "6. Delete them from S3 behind the cache's back"
run s3direct s3 rm --recursive s3://lakehouse/customer/
run s3direct s3 ls s3://lakehouse/customer/ || true
echo "(S3 has nothing left under customer/)"

say "7. Read again through the gateway: still served, from the cache"
run gw s3 cp --only-show-errors s3://lakehouse/customer/part-0.orc "$W/part-0.read"
head -n 3 "$W/part-0.read"
same "$W/customer/part-0.orc" "$W/part-0.read" "still served after the delete in S3: identical bytes"

say "8. The node's metrics"
curl -s "http://$ADMIN/metrics" | grep -E '^shoal_(cache_hits_total|cache_misses_total|bytes_served_from_cache_total|bytes_served_from_s3_total|s3_requests_total|store_blocks)' | sed 's/^/  /'

say "9. The ring the cluster will place blocks on (shoal ring simulate)"
run "$BUILD/shoal" ring simulate --nodes 5 --zones 3 --replicas 2 --blocks 500000
