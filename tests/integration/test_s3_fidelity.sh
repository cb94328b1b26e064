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
start_s3_server
s3_create_bucket lake

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
GW="http://$SHOALD_S3" DOC="$ROOT/docs/gateway.md" run_checks fidelity_checks.py
GW="http://$SHOALD_S3" run_checks conformance_checks.py
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
GW="http://$SHOALD_S3" run_checks accounts_checks.py
stop_shoald "$SHOALD_PID" TERM
check "two tenants' accounts: clean exit" 0 "$STOP_STATUS"
finish
