#!/bin/bash
# The README's `make demo` (deploy/demo.sh): it runs to the end with no
# standard input, each claim it prints holds (written through to S3, bytes
# read back identical, still served after the delete in S3, cache hits in
# the metrics, the ring's status), and it stops everything it started.
# "Written through" is observed here, not read from the demo's output: at
# DEMO_AFTER_UPLOAD (after its step 4, before it deletes the files in S3)
# this test lists the demo's S3 server itself with boto3 and reads each
# object back from it.
. "$(dirname "$0")/lib.sh"

cat >"$T_TMP/list-s3" <<PYEOF
#!/usr/bin/python3
import hashlib, os, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
with open("$T_TMP/s3-listing", "w") as f:
    for o in s3.list_objects_v2(Bucket="lakehouse", Prefix="customer/").get("Contents", []):
        body = s3.get_object(Bucket="lakehouse", Key=o["Key"])["Body"].read()
        f.write("%s %d %s\n" % (o["Key"], o["Size"], hashlib.md5(body).hexdigest()))
PYEOF
chmod +x "$T_TMP/list-s3"

DEMO_DIR=$T_TMP/demo DEMO_AFTER_UPLOAD=$T_TMP/list-s3 "$ROOT/deploy/demo.sh" "$BUILD" </dev/null >"$T_TMP/demo.out" 2>&1
rc=$?
check "make demo's script exits 0" 0 $rc
[ $rc = 0 ] || tail -n 30 "$T_TMP/demo.out"
out=$(sed 's/\x1b\[[0-9;]*m//g' "$T_TMP/demo.out")
# what the demo wrote through the gateway: its files, in DEMO_DIR/customer
want=$(cd "$T_TMP/demo/customer" 2>/dev/null && for f in part-*.orc; do
    echo "customer/$f $(stat -c %s "$f") $(md5sum <"$f" | cut -d' ' -f1)"
done)
check_match "the demo made its three files" "^customer/part-0.orc [1-9].* customer/part-1.orc .* customer/part-2.orc " \
    "$(echo $want)"
check "written through: S3 lists each file with its size and bytes (S3 listed by this test)" \
    "$want" "$(cat "$T_TMP/s3-listing" 2>&1)"
check_match "read back through the gateway: identical bytes" "^read back: identical bytes$" "$out"
check_match "deleted in S3, still served from the cache" \
    "^still served after the delete in S3: identical bytes$" "$out"
check_match "the metrics show cache hits" "shoal_cache_hits_total [1-9]" "$out"
check_match "the metrics show the blocks held" 'shoal_store_blocks\{tier="memory"\} [1-9]' "$out"
check_match "the ring's status is shown" "peak-to-mean" "$out"
check_match "it says it stopped what it started" "demo: stopped everything it started" "$out"
left=$(pgrep -f "$T_TMP/demo" | tr '\n' ' ')
check "no process of the demo left running" "" "$left"
finish
