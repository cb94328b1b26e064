#!/bin/bash
# S3 fidelity of the gateway (issue: a request the gateway does not
# implement is never run as another one): bucket requests routed by method
# and subresource as docs/gateway.md's table says (walked cell by cell, on a
# "*" bucket and a named mount, and the bucket survives), ListObjectVersions,
# GetBucketLocation, GetBucketVersioning, listing details and metadata, with
# boto3 and raw requests against one shoald in front of the real S3 server;
# then a conformance run (conformance_checks.py): the same scenarios straight
# against S3 and through the gateway, observed the same.
. "$(dirname "$0")/lib.sh"
S3SRV=$ROOT/tests/s3/s3-server
PY=/usr/bin/python3

T_CLEANUP+=("$(printf '%q stop %q' "$S3SRV" "$T_TMP/s3")")
if ! "$S3SRV" start "$T_TMP/s3" >"$T_TMP/s3.env" 2>"$T_TMP/s3.err"; then
    check "S3 server starts" 0 1
    cat "$T_TMP/s3.err"
    finish
fi
set -a
. "$T_TMP/s3.env"
set +a
"$PY" -c 'import os, boto3; from botocore.config import Config
boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
             config=Config(s3={"addressing_style": "path"})).create_bucket(Bucket="lake")'
check "bucket created in S3" 0 $?

D=$T_TMP/node
mkdir -p "$D/local"
cat >"$T_TMP/shoald.yaml" <<YAML
node:
  name: fid
  data_dir: $D/data
listen:
  s3: 127.0.0.1:0
  admin: 127.0.0.1:0
  peer: 127.0.0.1:0
cluster:
  block_size: 1MiB
cache:
  memory: 32MiB
mounts:
  - name: lake
    ufs: s3://lake/
    endpoint: $S3_ENDPOINT
    region: us-east-1
  - name: pre
    ufs: s3://lake/pre/
    endpoint: $S3_ENDPOINT
    region: us-east-1
  - name: local
    ufs: file://$D/local
  - name: "*"
    ufs: s3://
    endpoint: $S3_ENDPOINT
    region: us-east-1
YAML
start_shoald fid "$T_TMP/shoald.yaml"
check "shoald starts" 0 $?
out=$(GW="http://$SHOALD_S3" DOC="$ROOT/docs/gateway.md" "$PY" "$ROOT/tests/integration/fidelity_checks.py" 2>&1)
echo "$out" | grep -v '^[0-9]* passed, [0-9]* failed$'
p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
T_PASS=$((T_PASS + ${p:-0}))
T_FAIL=$((T_FAIL + ${f:-1}))
out=$(GW="http://$SHOALD_S3" "$PY" "$ROOT/tests/integration/conformance_checks.py" 2>&1)
echo "$out" | grep -v '^[0-9]* passed, [0-9]* failed$'
p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
T_PASS=$((T_PASS + ${p:-0}))
T_FAIL=$((T_FAIL + ${f:-1}))
stop_shoald "$SHOALD_PID" TERM
check "clean exit" 0 "$STOP_STATUS"

# two tenants, each with its own S3 account behind one "*" mount
cat >"$T_TMP/accounts.yaml" <<YAML
node:
  name: acc
  data_dir: $T_TMP/acc/data
listen:
  s3: 127.0.0.1:0
  admin: 127.0.0.1:0
  peer: 127.0.0.1:0
cluster:
  block_size: 1MiB
cache:
  memory: 32MiB
mounts:
  - name: "*"
    ufs: s3://
    endpoint: $S3_ENDPOINT
    region: us-east-1
  - name: shared
    ufs: s3://lake/
    endpoint: $S3_ENDPOINT
    region: us-east-1
tenants:
  - name: alice
    access_key: AKIDALICE
    secret_key: alice-secret
    allow:
      - mount: "*"
        access: readwrite
    backend:
      - mount: "*"
        credentials:
          access_key_env: AWS_ACCESS_KEY_ID
          secret_key_env: AWS_SECRET_ACCESS_KEY
      - mount: shared
        credentials:
          access_key_env: AWS_ACCESS_KEY_ID
          secret_key_env: AWS_SECRET_ACCESS_KEY
  - name: bob
    access_key: AKIDBOB
    secret_key: bob-secret
    allow:
      - mount: "*"
        access: readwrite
    backend:
      - mount: "*"
        credentials:
          access_key_env: S3_USER2_ACCESS_KEY_ID
          secret_key_env: S3_USER2_SECRET_ACCESS_KEY
YAML
start_shoald acc "$T_TMP/accounts.yaml"
check "shoald with two tenants' accounts starts" 0 $?
out=$(GW="http://$SHOALD_S3" "$PY" "$ROOT/tests/integration/accounts_checks.py" 2>&1)
echo "$out" | grep -v '^[0-9]* passed, [0-9]* failed$'
p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
T_PASS=$((T_PASS + ${p:-0}))
T_FAIL=$((T_FAIL + ${f:-1}))
stop_shoald "$SHOALD_PID" TERM
check "two tenants' accounts: clean exit" 0 "$STOP_STATUS"
finish
