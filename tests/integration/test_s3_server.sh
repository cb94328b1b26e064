#!/bin/bash
# tests/integration/test_s3_server.sh: the project's own S3 server
# (tests/s3/s3-server), used for real: start on a free port, the S3 calls the
# other tests rely on through Debian's aws-cli and boto3 (put/get, ranges,
# listing, delete, multipart with the small-part knob, signature and access
# errors), status/stop semantics, a second server (stdin closed) and a third
# (as an unprivileged user when run as root) started at the same time.
# Prints "N passed, N failed" as its last line.
#
#   bash tests/integration/test_s3_server.sh
#
# It runs no program of shoal's build (only Swift, memcached, aws-cli and
# boto3), so a run against build/asan would repeat this one exactly.
# not-under-asan: runs no shoal binary (checks the test S3 server only)
. "$(dirname "$0")/lib.sh"
S3=$ROOT/tests/s3/s3-server
AWS=/usr/bin/aws # Debian's; a pyenv `aws` on PATH may be another version
PY=/usr/bin/python3

for f in "$AWS" "$PY" /usr/bin/curl; do
    if [ ! -x "$f" ]; then
        check "$f is installed (deploy/deps.sh test)" yes no
        finish
    fi
done

# ---- command line ---------------------------------------------------------------------
"$S3" --help >"$T_TMP/out" 2>&1
check "--help exits 0" 0 $?
check_match "--help names the knobs" "S3_SERVER_MIN_PART_SIZE" "$(cat "$T_TMP/out")"
"$S3" >/dev/null 2>&1
check "no command exits 2" 2 $?
"$S3" frobnicate "$T_TMP/x" >/dev/null 2>&1
check "unknown command exits 2" 2 $?
"$S3" start >/dev/null 2>&1
check "start without DIR exits 2" 2 $?
"$S3" start "$T_TMP/x" 80a >/dev/null 2>&1
check "bad PORT exits 2" 2 $?
S3_SERVER_LOG_LEVEL=chatty "$S3" start "$T_TMP/x" >/dev/null 2>&1
check "bad knob exits 2" 2 $?
check "usage errors create nothing" no "$([ -e "$T_TMP/x" ] && echo yes || echo no)"
"$S3" status "$T_TMP/x" >/dev/null 2>&1
check "status of a DIR never started exits 1" 1 $?
"$S3" stop "$T_TMP/x" >/dev/null 2>&1
check "stop of a DIR never started exits 0" 0 $?

# ---- server 1 -------------------------------------------------------------------------
D1=$T_TMP/s3-one
T_CLEANUP+=("$(printf '%q stop %q' "$S3" "$D1")")
t0=$EPOCHREALTIME
S3_SERVER_MIN_PART_SIZE=1 "$S3" start "$D1" >"$T_TMP/env1" 2>"$T_TMP/start1.err"
rc=$?
t1=$EPOCHREALTIME
check "start exits 0" 0 $rc
if [ $rc -ne 0 ]; then
    cat "$T_TMP/start1.err"
    finish
fi
echo "     (start took $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s)"
for k in S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_REGION \
    S3_USER2_ACCESS_KEY_ID S3_USER2_SECRET_ACCESS_KEY S3_READER_ACCESS_KEY_ID \
    S3_READER_SECRET_ACCESS_KEY; do
    check_match "start prints $k" "^$k=." "$(grep "^$k=" "$T_TMP/env1")"
done
check "DIR/env holds what start printed" "$(cat "$T_TMP/env1")" "$(cat "$D1/env")"
set -a
. "$T_TMP/env1"
set +a
EP1=$S3_ENDPOINT
check_match "endpoint is loopback with a port" '^http://127\.0\.0\.1:[0-9]+$' "$EP1"
"$S3" status "$D1" >/dev/null 2>&1
check "status exits 0 while running" 0 $?
"$S3" start "$D1" >"$T_TMP/again" 2>&1
check "start on a running DIR exits 0" 0 $?
check "start on a running DIR prints the same env" "$(cat "$T_TMP/env1")" "$(cat "$T_TMP/again")"

# ---- aws-cli --------------------------------------------------------------------------
# Debian 12's /usr/bin/aws is aws-cli 2.9 (botocore 1.29). The two checksum
# settings only matter for aws-cli >= 2.23, which Swift 2.30 partly rejects
# (tests/s3/README.md); the pager and prompt ones are v2 habits.
export AWS_CONFIG_FILE=$T_TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required
export AWS_PAGER="" AWS_CLI_AUTO_PROMPT=off AWS_EC2_METADATA_DISABLED=true
cat >"$AWS_CONFIG_FILE" <<'EOF'
[default]
region = us-east-1
s3 =
    addressing_style = path
    signature_version = s3v4
EOF
aws() { "$AWS" --endpoint-url "$EP1" "$@"; }

head -c 300000 /dev/urandom >"$T_TMP/obj"
MD5=$(md5sum <"$T_TMP/obj" | cut -c1-32)
aws s3api create-bucket --bucket shoal-it >/dev/null 2>"$T_TMP/err"
check "aws: create-bucket" 0 $?
check "aws: put-object, ETag is the MD5" "\"$MD5\"" \
    "$(aws s3api put-object --bucket shoal-it --key d/obj --body "$T_TMP/obj" --query ETag --output text 2>&1)"
aws s3api get-object --bucket shoal-it --key d/obj "$T_TMP/got" >/dev/null 2>&1
check "aws: get-object, content identical" same "$(cmp -s "$T_TMP/obj" "$T_TMP/got" && echo same || echo differs)"
check "aws: ranged get-object, Content-Range" "bytes 100-199/300000" \
    "$(aws s3api get-object --bucket shoal-it --key d/obj --range bytes=100-199 "$T_TMP/part" --query ContentRange --output text 2>&1)"
check "aws: ranged get-object, the right 100 bytes" same \
    "$(dd if="$T_TMP/obj" bs=100 skip=1 count=1 2>/dev/null | cmp -s - "$T_TMP/part" && echo same || echo differs)"
echo x >"$T_TMP/x1"
for k in l/a/1 l/a/2 l/b/3 l/top other; do
    aws s3api put-object --bucket shoal-it --key "$k" --body "$T_TMP/x1" >/dev/null 2>&1
done
check "aws: list prefix l/ delimiter /: keys" "l/top" \
    "$(aws s3api list-objects-v2 --bucket shoal-it --prefix l/ --delimiter / --query 'Contents[].Key' --output text 2>&1)"
check "aws: list prefix l/ delimiter /: common prefixes" "l/a/ l/b/" \
    "$(aws s3api list-objects-v2 --bucket shoal-it --prefix l/ --delimiter / --query 'CommonPrefixes[].Prefix' --output text 2>&1 | tr '\t' ' ')"
AWS_SECRET_ACCESS_KEY=wrong aws s3api list-objects-v2 --bucket shoal-it >/dev/null 2>"$T_TMP/err"
check_match "aws: wrong secret is SignatureDoesNotMatch" "SignatureDoesNotMatch" "$(cat "$T_TMP/err")"
aws --no-sign-request s3api get-object --bucket shoal-it --key d/obj "$T_TMP/anon" >/dev/null 2>"$T_TMP/err"
check_match "aws: anonymous get is AccessDenied" "AccessDenied" "$(cat "$T_TMP/err")"
aws s3api delete-object --bucket shoal-it --key other >/dev/null 2>&1
check "aws: delete-object" 0 $?
aws s3api head-object --bucket shoal-it --key other >/dev/null 2>"$T_TMP/err"
check_match "aws: head after delete is 404" "404|Not Found" "$(cat "$T_TMP/err")"

# ---- curl: the anonymous answer, byte for byte the status and code ------------------------
code=$(curl -s -o "$T_TMP/body" -w '%{http_code}' "$EP1/shoal-it/d/obj")
check "curl anonymous GET: 403 AccessDenied" "403 AccessDenied" \
    "$code $(grep -o '<Code>[^<]*' "$T_TMP/body" | cut -c7-)"
code=$(curl -s -o "$T_TMP/body" -w '%{http_code}' "$EP1/shoal-it?list-type=2")
check "curl anonymous list: 403 AccessDenied" "403 AccessDenied" \
    "$code $(grep -o '<Code>[^<]*' "$T_TMP/body" | cut -c7-)"

# ---- boto3 (Debian's, on /usr/bin/python3) ----------------------------------------------
"$PY" - "$EP1" >"$T_TMP/boto" 2>&1 <<'EOF'
import os, sys
import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

ep = sys.argv[1]
cfg = Config(s3={'addressing_style': 'path'}, signature_version='s3v4', retries={'max_attempts': 1})


def client(key, secret, config=cfg):
    return boto3.client('s3', endpoint_url=ep, region_name='us-east-1', aws_access_key_id=key,
                        aws_secret_access_key=secret, config=config)


def err(fn):
    try:
        fn()
        return 'no error'
    except ClientError as e:
        return '%s %s' % (e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Code'])


env = os.environ
s3 = client(env['AWS_ACCESS_KEY_ID'], env['AWS_SECRET_ACCESS_KEY'])
data = os.urandom(200000)
s3.create_bucket(Bucket='shoal-boto')
s3.put_object(Bucket='shoal-boto', Key='a/b', Body=data)
print('get_same=%s' % (s3.get_object(Bucket='shoal-boto', Key='a/b')['Body'].read() == data))
r = s3.get_object(Bucket='shoal-boto', Key='a/b', Range='bytes=1000-1999')
body = r['Body'].read()
print('range=%d %s %s' % (r['ResponseMetadata']['HTTPStatusCode'], r['ContentRange'], body == data[1000:2000]))
print('range_past_end=%s' % err(lambda: s3.get_object(Bucket='shoal-boto', Key='a/b', Range='bytes=200000-')))
for k in ('p/x/1', 'p/x/2', 'p/y', 'q'):
    s3.put_object(Bucket='shoal-boto', Key=k, Body=b'1')
r = s3.list_objects_v2(Bucket='shoal-boto', Prefix='p/', Delimiter='/')
print('list=%s | %s' % (' '.join(o['Key'] for o in r.get('Contents', [])),
                        ' '.join(p['Prefix'] for p in r.get('CommonPrefixes', []))))
s3.delete_object(Bucket='shoal-boto', Key='q')
print('head_deleted=%s' % err(lambda: s3.head_object(Bucket='shoal-boto', Key='q')))
bad = client(env['AWS_ACCESS_KEY_ID'], 'wrong')
print('wrong_secret=%s' % err(lambda: bad.get_object(Bucket='shoal-boto', Key='a/b')))
anon = client(None, None, cfg.merge(Config(signature_version=UNSIGNED)))
print('anonymous=%s' % err(lambda: anon.get_object(Bucket='shoal-boto', Key='a/b')))
user2 = client(env['S3_USER2_ACCESS_KEY_ID'], env['S3_USER2_SECRET_ACCESS_KEY'])
print('user2=%s' % err(lambda: user2.get_object(Bucket='shoal-boto', Key='a/b')))
reader = client(env['S3_READER_ACCESS_KEY_ID'], env['S3_READER_SECRET_ACCESS_KEY'])
print('reader=%s' % err(lambda: reader.get_object(Bucket='shoal-boto', Key='a/b')))
# multipart with parts far below 5 MiB: allowed by S3_SERVER_MIN_PART_SIZE=1
up = s3.create_multipart_upload(Bucket='shoal-boto', Key='mp')['UploadId']
parts = []
for n, chunk in enumerate((data[:1000], data[1000:1500]), 1):
    e = s3.upload_part(Bucket='shoal-boto', Key='mp', PartNumber=n, UploadId=up, Body=chunk)['ETag']
    parts.append({'PartNumber': n, 'ETag': e})
etag = s3.complete_multipart_upload(Bucket='shoal-boto', Key='mp', UploadId=up,
                                    MultipartUpload={'Parts': parts})['ETag']
got = s3.get_object(Bucket='shoal-boto', Key='mp')['Body'].read()
print('multipart=%s %s' % (etag.strip('"').endswith('-2'), got == data[:1500]))
EOF
check "boto3 script ran" 0 $?
val() { sed -n "s/^$1=//p" "$T_TMP/boto"; }
check "boto3: get, content identical" True "$(val get_same)"
check "boto3: Range 1000-1999 is 206, Content-Range, right bytes" "206 bytes 1000-1999/200000 True" "$(val range)"
check "boto3: Range past the end is 416 InvalidRange" "416 InvalidRange" "$(val range_past_end)"
check "boto3: list prefix p/ delimiter /" "p/y | p/x/" "$(val list)"
check "boto3: head after delete is 404" "404 404" "$(val head_deleted)"
check "boto3: wrong secret is 403 SignatureDoesNotMatch" "403 SignatureDoesNotMatch" "$(val wrong_secret)"
check "boto3: anonymous is 403 AccessDenied" "403 AccessDenied" "$(val anonymous)"
check "boto3: user 2 (other account) sees 404 NoSuchBucket" "404 NoSuchBucket" "$(val user2)"
check "boto3: reader (no rights) is 403 AccessDenied" "403 AccessDenied" "$(val reader)"
check "boto3: multipart of tiny parts (knob), ETag -2, content" "True True" "$(val multipart)"
grep -q '^multipart=' "$T_TMP/boto" || sed 's/^/     | /' "$T_TMP/boto" | tail -n 15

# ---- servers 2 and 3, started at the same time ------------------------------------------
# Server 2: default part size, stdin closed. Server 3: as user nobody when we
# are root (its own copy of the script, in case the clone is not readable).
D2=$T_TMP/s3-two
T_CLEANUP+=("$(printf '%q stop %q' "$S3" "$D2")")
"$S3" start "$D2" <&- >"$T_TMP/env2" 2>"$T_TMP/start2.err" &
p2=$!
p3=""
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
    N=$(mktemp -d /tmp/shoal-it-s3-nobody.XXXXXX)
    T_CLEANUP+=("$(printf '%q stop %q; rm -rf %q' "$S3" "$N/srv" "$N")")
    install -m 755 "$S3" "$N/s3-server"
    chown nobody "$N"
    (cd / && runuser -u nobody -- "$N/s3-server" start "$N/srv" </dev/null >"$T_TMP/env3" 2>"$T_TMP/start3.err") &
    p3=$!
fi
wait $p2
check "server 2 starts alongside" 0 $?
EP2=$(sed -n 's/^S3_ENDPOINT=//p' "$T_TMP/env2")
check_match "server 2 has an endpoint" '^http://127\.0\.0\.1:[0-9]+$' "$EP2"
check "server 2 has another port" yes "$([ -n "$EP2" ] && [ "$EP2" != "$EP1" ] && echo yes || echo no)"
"$S3" status "$D1" >/dev/null 2>&1
check "server 1 still running" 0 $?
"$PY" - "$EP2" >"$T_TMP/boto2" 2>&1 <<'EOF'
import os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',
                  config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
print('buckets=%s' % ' '.join(b['Name'] for b in s3.list_buckets()['Buckets']))
s3.create_bucket(Bucket='shoal-two')
up = s3.create_multipart_upload(Bucket='shoal-two', Key='mp')['UploadId']
parts = []
for n in (1, 2):
    e = s3.upload_part(Bucket='shoal-two', Key='mp', PartNumber=n, UploadId=up, Body=b'x' * 1000)['ETag']
    parts.append({'PartNumber': n, 'ETag': e})
try:
    s3.complete_multipart_upload(Bucket='shoal-two', Key='mp', UploadId=up,
                                 MultipartUpload={'Parts': parts})
    print('small_parts=accepted')
except ClientError as e:
    print('small_parts=%s' % e.response['Error']['Code'])
EOF
check "server 2 has its own data (no buckets)" "" "$(sed -n 's/^buckets=//p' "$T_TMP/boto2")"
check "server 2 (default part size) rejects 1000-byte parts" EntityTooSmall \
    "$(sed -n 's/^small_parts=//p' "$T_TMP/boto2")"
"$S3" start "$T_TMP/s3-busy" "${EP2##*:}" >/dev/null 2>"$T_TMP/busy.err"
check "start on a port in use exits 1" 1 $?
check_match "start on a port in use says so" "in use" "$(cat "$T_TMP/busy.err")"
if [ -n "$p3" ]; then
    wait "$p3"
    rc=$?
    check "server 3 starts as user nobody" 0 $rc
    [ $rc -ne 0 ] && tail -n 20 "$T_TMP/start3.err"
    EP3=$(sed -n 's/^S3_ENDPOINT=//p' "$T_TMP/env3")
    check "server 3 has a third port" yes \
        "$([ -n "$EP3" ] && [ "$EP3" != "$EP1" ] && [ "$EP3" != "$EP2" ] && echo yes || echo no)"
    check "server 3 runs as nobody" nobody \
        "$(ps -o user= -p "$(cut -d' ' -f1 "$N/srv/run/proxy.pid" 2>/dev/null)" 2>/dev/null)"
    runuser -u nobody -- "$N/s3-server" stop "$N/srv" >/dev/null 2>&1
    check "server 3 stops" 0 $?
else
    echo "     (not root: the unprivileged start is this run itself)"
fi

# ---- stop -------------------------------------------------------------------------------
pids=$(cut -d' ' -f1 "$D1"/run/*.pid)
"$S3" stop "$D1" >/dev/null 2>&1
check "stop exits 0" 0 $?
"$S3" status "$D1" >/dev/null 2>&1
check "status exits 1 after stop" 1 $?
left=""
for p in $pids; do
    [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && left="$left $p"
done
check "no process of server 1 is left" "" "$left"
curl -s -o /dev/null "$EP1/" 2>/dev/null
check "the endpoint refuses connections after stop (curl exit 7)" 7 $?
"$S3" stop "$D1" >/dev/null 2>&1
check "stop twice is fine" 0 $?
"$S3" status "$D2" >/dev/null 2>&1
check "server 2 is not affected by stopping server 1" 0 $?
"$S3" stop "$D2" >/dev/null 2>&1
check "server 2 stops" 0 $?
finish
