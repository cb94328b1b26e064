#!/bin/bash
# The S3 gateway of one shoald in front of a real S3 server (Swift, which
# checks signatures), driven by Debian's boto3 and aws-cli: every operation
# and its error paths, write-through, single flight, restart keeping the
# cache, a corrupt block refetched, and S3 down (cached data served, misses
# 503). See gateway_checks.py for the boto3 part.
. "$(dirname "$0")/lib.sh"
S3SRV=$ROOT/tests/s3/s3-server
PY=/usr/bin/python3
AWS=/usr/bin/aws

start_s3_server
s3_create_bucket lakehouse

D=$T_TMP/node
mkdir -p "$D/localfs"
cat >"$T_TMP/shoald.yaml" <<YAML
node:
  name: gw1
  data_dir: $D/data
listen:
  s3: 127.0.0.1:0
  admin: 127.0.0.1:0
  peer: 127.0.0.1:0
cluster:
  block_size: 1MiB
cache:
  memory: 64MiB
  disks:
    - path: $D/disk1
      size: 256MiB
mounts:
  - name: lakehouse
    ufs: s3://lakehouse/
    endpoint: $S3_ENDPOINT
    region: us-east-1
    metadata_ttl: 2s
  - name: localfs
    ufs: file://$D/localfs
  - name: lakepre
    ufs: s3://lakehouse/pfx/
    endpoint: $S3_ENDPOINT
    region: us-east-1
  - name: otheruser
    ufs: s3://lakehouse/
    endpoint: $S3_ENDPOINT
    region: us-east-1
    credentials:
      access_key_env: S3_USER2_ACCESS_KEY_ID
      secret_key_env: S3_USER2_SECRET_ACCESS_KEY
  - name: otherep
    ufs: s3://lakehouse/
    endpoint: ${S3_ENDPOINT/127.0.0.1/localhost}
    region: us-east-1
  - name: lakero
    ufs: s3://lakehouse/
    endpoint: $S3_ENDPOINT
    region: us-east-1
    write_mode: read-only
  - name: lakelong
    ufs: s3://lakehouse/
    endpoint: $S3_ENDPOINT
    region: us-east-1
    metadata_ttl: 1h
  - name: "*"
    ufs: s3://
    endpoint: $S3_ENDPOINT
    region: us-east-1
tenants:
  - name: analyst
    access_key: AKIDSHOALTEST
    secret_key: shoal-test-secret
    allow:
      - mount: lakehouse
        access: readwrite
      - mount: localfs
        access: readwrite
      - mount: "*"
        access: readwrite
  - name: reader
    access_key: AKIDSHOALREADER
    secret_key: shoal-reader-secret
    allow:
      - mount: lakehouse
        prefix: public/
        access: read
      - mount: lakehouse
        prefix: scratch/
        access: write
YAML
export TENANT_KEY=AKIDSHOALTEST TENANT_SECRET=shoal-test-secret T_TMP
export READER_KEY=AKIDSHOALREADER READER_SECRET=shoal-reader-secret
export S3=$S3_ENDPOINT

run_py() {  # phase: runs the boto3 checks and adds their counts
    local out p f
    out=$(GW="http://$SHOALD_S3" ADMIN="http://$SHOALD_ADMIN" "$PY" "$ROOT/tests/integration/gateway_checks.py" "$1" 2>&1)
    echo "$out" | grep -v '^[0-9]* passed, [0-9]* failed$'
    p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    T_PASS=$((T_PASS + ${p:-0}))
    T_FAIL=$((T_FAIL + ${f:-1}))
}

start_shoald gw1 "$T_TMP/shoald.yaml"
check "shoald starts" 0 $?
check_match "gateway address published" '^127\.0\.0\.1:[0-9]+$' "$SHOALD_S3"
run_py main
run_py refresh
run_py copy-delete

# a file:// mount through the same gateway and cache
GW="http://$SHOALD_S3" "$PY" - <<'PYEOF' >"$T_TMP/localfs.out" 2>&1
import os, boto3
from botocore.config import Config
c = boto3.client("s3", endpoint_url=os.environ["GW"], aws_access_key_id=os.environ["TENANT_KEY"],
                 aws_secret_access_key=os.environ["TENANT_SECRET"], region_name="us-east-1",
                 config=Config(s3={"addressing_style": "path"}))
data = os.urandom(2500000)
c.put_object(Bucket="localfs", Key="dir/a.bin", Body=data)
print("get", c.get_object(Bucket="localfs", Key="dir/a.bin")["Body"].read() == data)
print("range", c.get_object(Bucket="localfs", Key="dir/a.bin", Range="bytes=100-199")["Body"].read() == data[100:200])
print("list", [o["Key"] for o in c.list_objects_v2(Bucket="localfs", Prefix="dir/")["Contents"]])
c.delete_object(Bucket="localfs", Key="dir/a.bin")
print("deleted", "Contents" not in c.list_objects_v2(Bucket="localfs", Prefix="dir/"))
PYEOF
check "file:// mount: put and get" "get True" "$(grep '^get' "$T_TMP/localfs.out")"
check "file:// mount: range" "range True" "$(grep '^range' "$T_TMP/localfs.out")"
check "file:// mount: list" "list ['dir/a.bin']" "$(grep '^list' "$T_TMP/localfs.out")"
check "file:// mount: delete" "deleted True" "$(grep '^deleted' "$T_TMP/localfs.out")"

# the pass-through mount "*": any bucket of the endpoint under its own name
GW="http://$SHOALD_S3" ADMIN="http://$SHOALD_ADMIN" "$PY" - <<'PYEOF' >"$T_TMP/star.out" 2>&1
import os, re, urllib.request, boto3, botocore
from botocore.config import Config
cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
c = boto3.client("s3", endpoint_url=os.environ["GW"], aws_access_key_id=os.environ["TENANT_KEY"],
                 aws_secret_access_key=os.environ["TENANT_SECRET"], region_name="us-east-1", config=cfg)
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1", config=cfg)
def code(f):
    try:
        f(); return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
def gets():
    t = urllib.request.urlopen(os.environ["ADMIN"] + "/metrics").read().decode()
    return re.search(r'^shoal_s3_requests_total\{kind="get"\} (\d+)$', t, re.M).group(1)
print("create", code(lambda: c.create_bucket(Bucket="passbucket")))
print("in-s3", code(lambda: s3.head_bucket(Bucket="passbucket")))
data = os.urandom(1500000)
c.put_object(Bucket="passbucket", Key="k/obj", Body=data)
print("s3-has", s3.get_object(Bucket="passbucket", Key="k/obj")["Body"].read() == data)
g0 = gets()
print("get", c.get_object(Bucket="passbucket", Key="k/obj")["Body"].read() == data, g0 == gets())
names = [b["Name"] for b in c.list_buckets()["Buckets"]]
print("buckets", all(n in names for n in ("lakehouse", "localfs", "passbucket")))
print("head", code(lambda: c.head_bucket(Bucket="passbucket")), code(lambda: c.head_bucket(Bucket="nosuchbucket")))
print("notempty", code(lambda: c.delete_bucket(Bucket="passbucket")))
c.delete_object(Bucket="passbucket", Key="k/obj")
print("delete", code(lambda: c.delete_bucket(Bucket="passbucket")), code(lambda: s3.head_bucket(Bucket="passbucket")))
PYEOF
check "* mount: CreateBucket" "create ok" "$(grep '^create' "$T_TMP/star.out")"
check "* mount: the bucket is in S3" "in-s3 ok" "$(grep '^in-s3' "$T_TMP/star.out")"
check "* mount: object written through" "s3-has True" "$(grep '^s3-has' "$T_TMP/star.out")"
check "* mount: read back from the cache" "get True True" "$(grep '^get' "$T_TMP/star.out")"
check "* mount: ListBuckets has mounts and S3's buckets" "buckets True" "$(grep '^buckets' "$T_TMP/star.out")"
check "* mount: HeadBucket" "head ok 404" "$(grep '^head' "$T_TMP/star.out")"
check "* mount: DeleteBucket not empty" "notempty BucketNotEmpty" "$(grep '^notempty' "$T_TMP/star.out")"
check "* mount: DeleteBucket" "delete ok 404" "$(grep '^delete' "$T_TMP/star.out")"

# aws-cli (Debian's) against the gateway
export AWS_CONFIG_FILE=$T_TMP/aws.cfg AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
printf '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n' >"$AWS_CONFIG_FILE"
awsgw() { AWS_ACCESS_KEY_ID=$TENANT_KEY AWS_SECRET_ACCESS_KEY=$TENANT_SECRET "$AWS" --endpoint-url "http://$SHOALD_S3" "$@"; }
head -c 20000000 /dev/urandom >"$T_TMP/cli.bin" # over aws-cli's 8 MiB multipart threshold
awsgw s3 cp "$T_TMP/cli.bin" s3://lakehouse/cli/file.bin >"$T_TMP/cli.log" 2>&1
check "aws s3 cp upload (multipart)" 0 $?
awsgw s3 cp s3://lakehouse/cli/file.bin "$T_TMP/cli.back" >>"$T_TMP/cli.log" 2>&1
check "aws s3 cp download" 0 $?
check "aws s3 cp round trip identical" same "$(cmp -s "$T_TMP/cli.bin" "$T_TMP/cli.back" && echo same || echo differs)"
# over aws-cli's multipart threshold, s3:// to s3:// copies with UploadPartCopy
awsgw s3 cp --copy-props metadata-directive s3://lakehouse/cli/file.bin s3://lakehouse/cli/file-copy.bin >>"$T_TMP/cli.log" 2>&1
check "aws s3 cp s3:// s3:// of 20 MB (UploadPartCopy)" 0 $?
awsgw s3 cp s3://lakehouse/cli/file-copy.bin "$T_TMP/cli.copy" >>"$T_TMP/cli.log" 2>&1
check "aws s3 cp s3:// s3:// of 20 MB: same bytes through the gateway" same "$(cmp -s "$T_TMP/cli.bin" "$T_TMP/cli.copy" && echo same || echo differs)"
awsgw s3 mv --copy-props metadata-directive s3://lakehouse/cli/file-copy.bin s3://lakehouse/cli/file-moved.bin >>"$T_TMP/cli.log" 2>&1
check "aws s3 mv of 20 MB (UploadPartCopy)" 0 $?
awsgw s3 cp s3://lakehouse/cli/file-moved.bin "$T_TMP/cli.moved" >>"$T_TMP/cli.log" 2>&1
check "aws s3 mv of 20 MB: same bytes at the new key" same "$(cmp -s "$T_TMP/cli.bin" "$T_TMP/cli.moved" && echo same || echo differs)"
check "aws s3 mv of 20 MB: the source is gone" 254 "$(awsgw s3api head-object --bucket lakehouse --key cli/file-copy.bin >/dev/null 2>&1; echo $?)"
# and with aws-cli's defaults, which read the source's tags (GetObjectTagging)
awsgw s3 cp s3://lakehouse/cli/file.bin s3://lakehouse/cli/file-tags.bin >>"$T_TMP/cli.log" 2>&1
check "aws s3 cp s3:// s3:// of 20 MB with the default --copy-props" 0 $?
awsgw s3 cp s3://lakehouse/cli/file-tags.bin "$T_TMP/cli.tags" >>"$T_TMP/cli.log" 2>&1
check "aws s3 cp s3:// s3:// of 20 MB, defaults: same bytes" same "$(cmp -s "$T_TMP/cli.bin" "$T_TMP/cli.tags" && echo same || echo differs)"
check_match "aws s3 ls lists it" "file.bin" "$(awsgw s3 ls s3://lakehouse/cli/ 2>&1)"
awsgw s3 rm s3://lakehouse/cli/file.bin >>"$T_TMP/cli.log" 2>&1
check "aws s3 rm" 0 $?
check "aws s3api head-object after rm: 404" 254 "$(awsgw s3api head-object --bucket lakehouse --key cli/file.bin >/dev/null 2>&1; echo $?)"
# copy, move and recursive remove (objects under aws-cli's 8 MiB multipart
# threshold: CopyObject)
head -c 3000000 /dev/urandom >"$T_TMP/small.bin"
awsgw s3 cp "$T_TMP/small.bin" s3://lakehouse/cli/small.bin >>"$T_TMP/cli.log" 2>&1
awsgw s3 cp s3://lakehouse/cli/small.bin s3://lakehouse/cli/copy.bin >>"$T_TMP/cli.log" 2>&1
check "aws s3 cp s3:// s3:// (CopyObject)" 0 $?
awsgw s3 cp s3://lakehouse/cli/copy.bin "$T_TMP/copy.back" >>"$T_TMP/cli.log" 2>&1
check "aws s3 cp s3:// s3://: same bytes" same "$(cmp -s "$T_TMP/small.bin" "$T_TMP/copy.back" && echo same || echo differs)"
awsgw s3 mv s3://lakehouse/cli/copy.bin s3://lakehouse/cli/sub/moved.bin >>"$T_TMP/cli.log" 2>&1
check "aws s3 mv" 0 $?
check "aws s3 mv: the source is gone" 254 "$(awsgw s3api head-object --bucket lakehouse --key cli/copy.bin >/dev/null 2>&1; echo $?)"
awsgw s3 cp s3://lakehouse/cli/sub/moved.bin "$T_TMP/moved.back" >>"$T_TMP/cli.log" 2>&1
check "aws s3 mv: same bytes at the new key" same "$(cmp -s "$T_TMP/small.bin" "$T_TMP/moved.back" && echo same || echo differs)"
awsgw s3 cp s3://lakehouse/cli/small.bin s3://lakehouse/cli/sub/d1 >>"$T_TMP/cli.log" 2>&1
awsgw s3 cp s3://lakehouse/cli/small.bin s3://lakehouse/cli/sub/d2 >>"$T_TMP/cli.log" 2>&1
check "aws s3api delete-objects: both Deleted" 2 "$(awsgw s3api delete-objects --bucket lakehouse --delete '{"Objects":[{"Key":"cli/sub/d1"},{"Key":"cli/sub/d2"}]}' --query 'length(Deleted)' --output text 2>>"$T_TMP/cli.log")"
check "aws s3api delete-objects: gone" 254 "$(awsgw s3api head-object --bucket lakehouse --key cli/sub/d2 >/dev/null 2>&1; echo $?)"
awsgw s3 rm --recursive s3://lakehouse/cli/ >>"$T_TMP/cli.log" 2>&1
check "aws s3 rm --recursive" 0 $?
check "aws s3 rm --recursive: nothing left under the prefix" 0 "$(awsgw s3api list-objects-v2 --bucket lakehouse --prefix cli/ --query 'length(Contents || `[]`)' --output text 2>>"$T_TMP/cli.log")"

# restart: the disk cache serves at once
BIG_MD5=$(GW="http://$SHOALD_S3" "$PY" -c '
import os, boto3, hashlib
from botocore.config import Config
c = boto3.client("s3", endpoint_url=os.environ["GW"], aws_access_key_id=os.environ["TENANT_KEY"], aws_secret_access_key=os.environ["TENANT_SECRET"], region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
print(hashlib.md5(c.get_object(Bucket="lakehouse", Key="t/big.bin")["Body"].read()).hexdigest())')
export BIG_MD5
stop_shoald "$SHOALD_PID" TERM
check "stops cleanly" 0 "$STOP_STATUS"
start_shoald gw1 "$T_TMP/shoald.yaml"
check "restarts" 0 $?
run_py after-restart

# a corrupt block on disk is detected and refetched, never served
stop_shoald "$SHOALD_PID" TERM
# the block file of t/big.bin's block 2: its id is SHA-256 over the versioned
# encoding in docs/architecture.md, the file blocks/XX/ID.blk
bid=$("$PY" - <<'PYEOF'
import hashlib, os, struct, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
etag = s3.head_object(Bucket="lakehouse", Key="t/big.bin")["ETag"]
def s(x):
    x = x.encode()
    return struct.pack("<Q", len(x)) + x
print(hashlib.sha256(b"shoal-block-v1" + s("lakehouse") + s("t/big.bin") + s(etag)
                     + struct.pack("<QQ", 1 << 20, 2)).hexdigest()[:32])
PYEOF
)
blk=$(find "$D/disk1" -name "$bid.blk" | head -n 1)
check_match "a block file exists on disk" '\.blk$' "$blk"
"$PY" -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(-1000,2); b=f.read(1); f.seek(-1000,2); f.write(bytes([b[0]^0xff])); f.close()' "$blk"
start_shoald gw1 "$T_TMP/shoald.yaml"
check "restarts after corruption" 0 $?
run_py after-corrupt
check_match "checksum failure counted" '^shoal_store_checksum_failures_total [1-9]' "$(curl -s "http://$SHOALD_ADMIN/metrics" | grep '^shoal_store_checksum_failures_total')"

# S3 down: cached objects are served, misses get 503
"$S3SRV" stop "$T_TMP/s3" >/dev/null 2>&1
sleep 2.5 # past metadata_ttl: the cached metadata is stale now
run_py s3-down
stop_shoald "$SHOALD_PID" TERM
check "stops cleanly at the end" 0 "$STOP_STATUS"
finish
