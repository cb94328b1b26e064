#!/usr/bin/env bash
# tests/integration/test_client_io.sh: libshoal's writes, listings and
# streaming reader, and the CLI commands on them (`shoal put`, `shoal ls`,
# `shoal load`), against three real nodes on 127.0.0.1-3 (R=2, 1 MiB
# blocks) over the test S3 server: a put lands in S3 byte for byte and
# reads back through every node without an S3 GET; puts to a read-only
# mount or a missing bucket fail with exit 1; an OPUT whose bytes do not
# match its checksum never becomes an object; listings (rolled up, -r,
# --json, more keys than one page); `shoal load` reads each block from S3
# once (bytes counted in the S3 server's log), leaves R copies of every
# block, resumes from its journal and plans with --dry-run; the streaming
# reader with random reads and seeks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

s3_cluster_setup
for n in 1 2 3; do PEER_PORT[$n]=$(free_port 127.0.0.$n); done
SEEDS="127.0.0.1:${PEER_PORT[1]}, 127.0.0.2:${PEER_PORT[2]}"
for n in 1 2 3; do
    node_config $n "$SEEDS" "  replication: 2
  block_size: 1MiB"
    cat >>"$T_TMP/n$n.yaml" <<YAML
  - name: frozen
    ufs: s3://lakehouse/
    endpoint: $S3_ENDPOINT
    region: us-east-1
    write_mode: read-only
YAML
done
for n in 1 2 3; do start_node $n || finish; done
wait_states 15 "n1=alive n2=alive n3=alive" 1 2 3
check "3 nodes see each other alive" 0 $?

S=$BUILD/shoal
CC=$BUILD/tools/client_check
export SHOAL_SEEDS="127.0.0.2:${PEER_PORT[2]},127.0.0.1:${PEER_PORT[1]}" SHOAL_KEY_FILE=$KEY_FILE
export SHOAL_CLUSTER=itest SHOAL_BLOCK_SIZE=$BLOCK_SIZE
export PROXY_LOG=$T_TMP/s3/log/proxy.log ADMINS="${NODE_ADMIN[1]} ${NODE_ADMIN[2]} ${NODE_ADMIN[3]}"
py() { PYTHONPATH=$ROOT/tests/integration /usr/bin/python3 "$@"; }
s3gets() { py -c 'import sys; from cluster_util import s3_get_bytes; print(*s3_get_bytes(sys.argv[1]))' "$1"; }

# ---- put ----
head -c $((3 * 1048576 + 4321)) /dev/urandom >"$T_TMP/put.bin"
"$S" put "$T_TMP/put.bin" lakehouse/w/put.bin >"$T_TMP/out" 2>"$T_TMP/err"
check "shoal put FILE: exit 0" 0 $?
etag=$(sed -n 's/^etag: //p' "$T_TMP/out")
read -r s3etag s3same < <(py - "$T_TMP/put.bin" <<'PY'
import sys
from cluster_util import s3, B
h = s3.head_object(Bucket=B, Key="w/put.bin")
body = s3.get_object(Bucket=B, Key="w/put.bin")["Body"].read()
print(h["ETag"], "same" if body == open(sys.argv[1], "rb").read() else "differ")
PY
)
check "... the object is in S3, byte for byte" same "$s3same"
check "... the printed ETag is S3's" "$s3etag" "$etag"
check "... and its size" "size: $((3 * 1048576 + 4321))" "$(head -1 "$T_TMP/out")"
g0=$(s3gets w/put.bin)
for n in 1 2 3; do
    check "read back through n$n's gateway: identical" same \
        "$(curl -sf "http://${NODE_S3[$n]}/lakehouse/w/put.bin" | cmp -s - "$T_TMP/put.bin" && echo same || echo differ)"
done
check "shoal get: identical" same "$("$S" get lakehouse/w/put.bin | cmp -s - "$T_TMP/put.bin" && echo same || echo differ)"
check "... none of these reads went to S3 (the put placed the blocks)" "$g0" "$(s3gets w/put.bin)"
check "shoal stat: the new version" "size: $((3 * 1048576 + 4321)) etag: $s3etag" \
    "$("$S" stat lakehouse/w/put.bin | sed -n '1,2p' | tr '\n' ' ' | sed 's/ $//')"

printf 'a,b\n1,2\n' | "$S" --json put --content-type text/csv - lakehouse/w/t.csv >"$T_TMP/out"
check "shoal put - (stdin) --json: exit 0" 0 $?
check "... JSON with the size and S3's ETag" "8 $(py -c 'from cluster_util import s3, B; print(s3.head_object(Bucket=B, Key="w/t.csv")["ETag"])')" \
    "$(py -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["size"], j["etag"])' "$T_TMP/out")"
check "... the Content-Type is kept in S3" text/csv \
    "$(py -c 'from cluster_util import s3, B; print(s3.head_object(Bucket=B, Key="w/t.csv")["ContentType"])')"
: | "$S" put - lakehouse/w/empty >/dev/null
check "an empty object: exit 0" 0 $?
check "... read back empty" 0 "$(curl -sf "http://${NODE_S3[3]}/lakehouse/w/empty" | wc -c)"
"$S" put "$T_TMP/put.bin" lakehouse/w/put.bin >/dev/null
check "overwrite (the same bytes): exit 0" 0 $?
printf 'new' | "$S" put - lakehouse/w/put.bin >/dev/null
check "overwrite with other bytes: every node reads the new version at once" "new new new" \
    "$(for n in 1 2 3; do curl -sf "http://${NODE_S3[$n]}/lakehouse/w/put.bin"; echo; done | tr '\n' ' ' | sed 's/ $//')"

"$S" put "$T_TMP/put.bin" frozen/w/ro.bin >/dev/null 2>"$T_TMP/err"
check "put to a read-only mount: exit 1" 1 $?
check_match "... saying so" "read-only" "$(cat "$T_TMP/err")"
check "... nothing written to S3" 404 "$(py -c '
from cluster_util import s3, B
try:
    s3.head_object(Bucket=B, Key="w/ro.bin"); print(200)
except Exception as e:
    print(e.response["ResponseMetadata"]["HTTPStatusCode"])')"
"$S" put "$T_TMP/put.bin" nobucket/x >/dev/null 2>"$T_TMP/err"
check "put to an unknown bucket: exit 1" 1 $?
check_match "... saying so" "no such bucket" "$(cat "$T_TMP/err")"
"$S" put "$T_TMP/nope" lakehouse/x >/dev/null 2>"$T_TMP/err"
check "put of a missing file: exit 1" 1 $?
"$S" put "$T_TMP/put.bin" >/dev/null 2>&1
check "put without BUCKET/KEY: usage, exit 2" 2 $?
check_match "shoal put --help: usage, exit 0" "^usage: shoal .*put" "$("$S" put --help)"

# straight on the peer protocol: a write damaged on the way (ERROR), one
# longer than it said (a broken frame: the connection is closed), and a
# sound one; only the sound one becomes an object
wfail() { py -c 'import sys; from cluster_util import metric; print(int(metric(sys.argv[1], "shoal_peer_object_writes_failed_total")))' "${NODE_ADMIN[1]}"; }
f0=$(wfail)
out=$(py - "${PEER_PORT[1]}" "$KEY_FILE" <<'PY'
import sys, xxhash
from peer_client import Peer, Closed, load_key, peer_key, ERROR, META, DATA, END
OPUT = 21
def attempt(key, size, body, xx):
    p = Peer("127.0.0.1:" + sys.argv[1], "itest", peer_key(load_key(sys.argv[2])), 1048576)
    p.handshake()
    assert p.recv()[0] == 4  # WELCOME
    p.send([OPUT, 7, 0, 0, "lakehouse", key, size, "application/octet-stream"])
    p.send([DATA, 7, body])
    p.send([END, 7, xx])
    try:
        while True:
            f = p.recv()
            if f[0] in (ERROR, META):
                p.close()
                return "ERROR" if f[0] == ERROR else "META"
    except Closed:
        return "CLOSED"
body = b"x" * 300000
print(attempt("w/bad.bin", len(body), body, xxhash.xxh3_64_intdigest(body) ^ 1),
      attempt("w/long.bin", 1000, body, xxhash.xxh3_64_intdigest(body)),
      attempt("w/good.bin", len(body), body, xxhash.xxh3_64_intdigest(body)))
PY
)
check "OPUT with a wrong XXH3 / more bytes than its size / a right one: ERROR, closed, META" "ERROR CLOSED META" "$out"
check "... the damaged and the long one never became objects; the right one did" "404 404 200" "$(py -c '
from cluster_util import s3, B
r = []
for k in ("w/bad.bin", "w/long.bin", "w/good.bin"):
    try:
        s3.head_object(Bucket=B, Key=k); r.append("200")
    except Exception as e:
        r.append(str(e.response["ResponseMetadata"]["HTTPStatusCode"]))
print(" ".join(r))')"
check "... the damaged one counted as a failed object write (n1's /metrics)" $((f0 + 1)) "$(wfail)"

# ---- ls ----
py - <<'PY'
from concurrent.futures import ThreadPoolExecutor
from cluster_util import s3, B
keys = ["ls/a/1", "ls/a/2", "ls/b/3", "ls/top"] + ["ls/many/%04d" % i for i in range(760)]
with ThreadPoolExecutor(16) as ex:
    list(ex.map(lambda k: s3.put_object(Bucket=B, Key=k, Body=k.encode()), keys))
PY
check "shoal ls BUCKET/PREFIX: prefixes rolled up at '/', then the keys" \
    "PRE ls/a/|PRE ls/b/|PRE ls/many/|6 ls/top" \
    "$("$S" ls lakehouse/ls/ | awk '{ if ($1 == "PRE") print $1, $2; else print $3, $4 }' | paste -sd'|')"
check_match "... a key's line: date, time (UTC), size, key" "^20[0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] +6 ls/top$" \
    "$("$S" ls lakehouse/ls/ | grep ' ls/top$')"
check "shoal ls -r: every key, more than one page (764)" 764 "$("$S" ls -r lakehouse/ls/ | wc -l)"
check "... in key order, each once" "$("$S" ls -r lakehouse/ls/ | awk '{print $4}' | LC_ALL=C sort -u | paste -sd,)" \
    "$("$S" ls -r lakehouse/ls/ | awk '{print $4}' | paste -sd,)"
check "... the same keys as S3's own listing" "$(py -c '
from cluster_util import s3, B
keys, tok = [], None
while True:
    kw = dict(Bucket=B, Prefix="ls/")
    if tok: kw["ContinuationToken"] = tok
    r = s3.list_objects_v2(**kw)
    keys += [o["Key"] for o in r.get("Contents", [])]
    if not r.get("IsTruncated"): break
    tok = r["NextContinuationToken"]
print(",".join(keys))')" "$("$S" ls -r lakehouse/ls/ | awk '{print $4}' | paste -sd,)"
check "shoal ls --json: keys with size, ETag, mtime; prefixes" "ok" "$("$S" ls --json lakehouse/ls/ | py -c '
import json, sys
from cluster_util import s3, B
j = json.load(sys.stdin)
h = s3.head_object(Bucket=B, Key="ls/top")
want = [{"prefix": "ls/a/"}, {"prefix": "ls/b/"}, {"prefix": "ls/many/"}]
keys = [e for e in j if "key" in e]
ok = [e for e in j if "prefix" in e] == want and len(keys) == 1 and keys[0]["key"] == "ls/top" \
    and keys[0]["size"] == 6 and keys[0]["etag"] == h["ETag"] \
    and abs(keys[0]["mtime"] - h["LastModified"].timestamp()) < 2
print("ok" if ok else j)')"
check "shoal ls of an empty prefix: nothing, exit 0" "0 0" "$("$S" ls lakehouse/nothing-here/ | wc -l) $?"
check "shoal ls --json of an empty prefix: []" "[]" "$("$S" ls --json lakehouse/nothing-here/)"
"$S" ls nobucket >/dev/null 2>"$T_TMP/err"
check "shoal ls of an unknown bucket: exit 1" 1 $?
check_match "... saying so" "no such bucket" "$(cat "$T_TMP/err")"
"$S" ls >/dev/null 2>&1
check "shoal ls without a bucket: usage, exit 2" 2 $?

# ---- load ----
py - "$T_TMP" <<'PY'
import os, sys
from cluster_util import put
for key, size in (("load/x/a.bin", 5 * 1048576 + 777), ("load/x/b.bin", 4 * 1048576),
                  ("load/y/c.bin", 2 * 1048576 + 1), ("load/y/d.bin", 1000)):
    data, etag = put(key, size, key)
    open(os.path.join(sys.argv[1], os.path.basename(key)), "wb").write(data)
PY
LOAD_BYTES=$((5 * 1048576 + 777 + 4 * 1048576 + 2 * 1048576 + 1 + 1000))
lgets() { py -c '
from cluster_util import s3_get_bytes
n = b = 0
for k in ("load/x/a.bin", "load/x/b.bin", "load/y/c.bin", "load/y/d.bin"):
    g = s3_get_bytes(k); n += g[0]; b += g[1]
print(n, b)'; }
"$S" load --dry-run lakehouse/load/ >"$T_TMP/plan"
check "shoal load --dry-run: exit 0" 0 $?
check "... the plan: 4 objects, 14 blocks (of 1 MiB), their bytes" "plan: 4 objects, 14 blocks of 1048576 bytes, $LOAD_BYTES bytes" \
    "$(sed -n 's/ (.*//p' "$T_TMP/plan" | grep '^plan:')"
check "... a line per object: size, blocks, key" "$((5 * 1048576 + 777)) 6 load/x/a.bin" "$(grep ' load/x/a.bin$' "$T_TMP/plan" | awk '{print $1, $2, $3}')"
check "shoal --json load --dry-run: the same plan as JSON" "4 14 $LOAD_BYTES 4" \
    "$("$S" --json load --dry-run lakehouse/load/ | py -c 'import json,sys; j=json.load(sys.stdin); print(j["objects"], j["blocks"], j["bytes"], len(j["plan"]))')"
check "... the plan read nothing from S3" "0 0" "$(lgets)"
"$S" load --parallel 4 --resume "$T_TMP/journal" lakehouse/load/ >"$T_TMP/out" 2>"$T_TMP/err"
check "shoal load --resume J: exit 0" 0 $?
check_match "... a summary: 4 objects, 14 blocks, the bytes" "^loaded 4 objects, 14 blocks, $LOAD_BYTES bytes " "$(cat "$T_TMP/out")"
check_match "... progress on stderr as plain lines (not a terminal), the last at 100%" \
    "^load: 11.0 MiB of 11.0 MiB \(100%\), 14 of 14 blocks, .*/s, ETA 0s$" "$(tail -1 "$T_TMP/err")"
check "... no escape codes in it" 0 "$(grep -c $'\033' "$T_TMP/err")"
read -r n b < <(lgets)
check "... each of the 14 blocks read from S3 once (GETs: $n, bytes $b of $LOAD_BYTES: <= 1.01x)" 1 \
    "$(awk -v b="$b" -v t="$LOAD_BYTES" -v n="$n" 'BEGIN { print (n <= 14 && b >= t && b <= t * 1.01) ? 1 : 0 }')"
check "... every block on both its owners (R=2)" ok "$(py - <<'PY'
from cluster_util import copies, s3, B
bad = []
for k in ("load/x/a.bin", "load/x/b.bin", "load/y/c.bin", "load/y/d.bin"):
    h = s3.head_object(Bucket=B, Key=k)
    held, owners = copies(k, h["ETag"], h["ContentLength"])
    bad += [(k, i) for i, (hd, ow) in enumerate(zip(held, owners)) if not ow <= hd]
print("ok" if not bad else bad)
PY
)"
for f in a.bin b.bin; do
    check "load/x/$f read through n3 afterwards: identical" same \
        "$(curl -sf "http://${NODE_S3[3]}/lakehouse/load/x/$f" | cmp -s - "$T_TMP/$f" && echo same || echo differ)"
done
check "... and through the library" same "$("$S" get lakehouse/load/y/c.bin | cmp -s - "$T_TMP/c.bin" && echo same || echo differ)"
check "... with no further S3 GET" "$n $b" "$(lgets)"
check "the journal names each object with its ETag" 4 "$(grep -c $'^"[0-9a-f]*"\tload/' "$T_TMP/journal")"
"$S" load --resume "$T_TMP/journal" lakehouse/load/ >"$T_TMP/out" 2>/dev/null
check "shoal load --resume again: nothing left to load, exit 0" "0 loaded 0 objects, 0 blocks, 0 bytes" "$? $(cut -d' ' -f1-7 "$T_TMP/out" | sed 's/,$//')"
check_match "... the 4 counted as already loaded" "4 already loaded, 0 failed" "$(cat "$T_TMP/out")"
# an object changed since: loaded again; the others skipped
py -c 'from cluster_util import put; put("load/y/d.bin", 2000, "changed")'
"$S" --json load --resume "$T_TMP/journal" lakehouse/load/ >"$T_TMP/out" 2>/dev/null
check "an object changed since the journal: only it is loaded again" "1 1 2000 3 0" \
    "$(py -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["objects"], j["blocks"], j["bytes"], j["skipped"], j["failed"])' "$T_TMP/out")"
"$S" load nobucket/x >/dev/null 2>"$T_TMP/err"
check "shoal load of an unknown bucket: exit 1" 1 $?
check_match "... saying so" "no such bucket" "$(cat "$T_TMP/err")"
"$S" load --parallel 0 lakehouse/load/ >/dev/null 2>&1
check "shoal load --parallel 0: usage, exit 2" 2 $?
check_match "shoal load --help: usage, exit 0" "^usage: shoal .*load" "$("$S" load --help)"

# the load's threads under ThreadSanitizer (make tsan; make check builds it)
TS=$ROOT/build/tsan/shoal
if [ -x "$TS" ]; then
    TSAN_OPTIONS="halt_on_error=1:exitcode=66" "$TS" load --parallel 16 lakehouse/load/ >"$T_TMP/out" 2>"$T_TMP/tsan.err"
    check "shoal load --parallel 16 under ThreadSanitizer: exit 0, no report" "0 0" \
        "$? $(grep -c ThreadSanitizer "$T_TMP/tsan.err")"
else
    check "build/tsan/shoal built (make tsan)" present missing
fi

# ---- the streaming reader ----
check_match "reader (default read-ahead): 300 random reads and seeks, then to the end: identical" "^ok " \
    "$("$CC" stream lakehouse load/x/a.bin "$T_TMP/a.bin" 300 0)"
check_match "reader with a 100000-byte read-ahead (less than a block)" "^ok " \
    "$("$CC" stream lakehouse load/x/a.bin "$T_TMP/a.bin" 300 100000)"
check_match "reader of an object of 2 blocks and a byte" "^ok " "$("$CC" stream lakehouse load/y/c.bin "$T_TMP/c.bin" 50 0)"
check "reader of a missing object: ENOENT" "err ENOENT" "$("$CC" stream lakehouse load/nope "$T_TMP/c.bin" 1 0)"

# ---- shoal ring from the seeds, shoal drain ----
"$S" ring >"$T_TMP/ring" 2>"$T_TMP/err"
check "shoal ring (seeds, no --node): exit 0" 0 $?
check "... a row per member, all alive" "alive n1|alive n2|alive n3" "$(awk '$1 == "alive" {print $1, $2}' "$T_TMP/ring" | sort | paste -sd'|')"
check "... the primary shares add up to the whole ring" 100 \
    "$(awk '$1 == "alive" { sub("%", "", $6); t += $6 } END { printf "%.0f", t }' "$T_TMP/ring")"
check "... each member holds R=2 copies' share (W/REPL adds up to 200%)" 200 \
    "$(awk '$1 == "alive" { sub("%", "", $7); t += $7 } END { printf "%.0f", t }' "$T_TMP/ring")"
ring_epoch=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["epoch"])' <(curl -s "http://${NODE_ADMIN[1]}/v1/ring"))
check "shoal --json ring: the nodes' epoch, 3 placed members with their ports" "$ring_epoch 3 ${NODE_ADMIN[2]##*:}" \
    "$("$S" --json ring | py -c '
import json, sys
j = json.load(sys.stdin)
ms = {m["name"]: m for m in j["members"]}
print(j["epoch"], sum(1 for m in j["members"] if m["placed"]), ms["n2"]["admin_port"])')"
"$S" ring --check >/dev/null 2>&1
check "shoal ring --check from the seeds: usage (it needs --node), exit 2" 2 $?
g0=$(lgets)
"$S" drain --wait --timeout 60 n3 >"$T_TMP/out" 2>"$T_TMP/err"
check "shoal drain --wait n3: exit 0" 0 $?
check_match "... it drained, then left" "^n3: left after" "$(tail -1 "$T_TMP/out")"
check "... n3's process ended by itself" gone "$(kill -0 "${NODE_PID[3]}" 2>/dev/null && echo running || echo gone)"
check "... the others see two members" "alive n1|alive n2" "$("$S" ring | awk '$1 != "STATE" && $1 != "cluster:" {print $1, $2}' | sort | paste -sd'|')"
check "... n3's blocks were handed over: each block of the loaded objects on both its owners now" ok "$(py - "${NODE_ADMIN[1]}" "${NODE_ADMIN[2]}" <<'PY'
import sys
from cluster_util import copies, s3, B
bad = []
for k in ("load/x/a.bin", "load/x/b.bin", "load/y/c.bin"):
    h = s3.head_object(Bucket=B, Key=k)
    held, owners = copies(k, h["ETag"], h["ContentLength"], admins=sys.argv[1:3], names=["n1", "n2"])
    bad += [(k, i) for i, (hd, ow) in enumerate(zip(held, owners)) if ow != {"n1", "n2"} or not ow <= hd]
print("ok" if not bad else bad)
PY
)"
for f in a.bin b.bin; do
    check "load/x/$f through n1 after the drain: identical" same \
        "$(curl -sf "http://${NODE_S3[1]}/lakehouse/load/x/$f" | cmp -s - "$T_TMP/$f" && echo same || echo differ)"
done
check "... from the copies n3 handed over: no S3 GET" "$g0" "$(lgets)"
"$S" drain n3 >/dev/null 2>"$T_TMP/err"
check "shoal drain of a member that left: exit 1" 1 $?
check_match "... saying so" "no such live member" "$(cat "$T_TMP/err")"
"$S" drain >/dev/null 2>&1
check "shoal drain without NODE: usage, exit 2" 2 $?
check_match "shoal drain --help: usage, exit 0" "^usage: shoal .*drain" "$("$S" drain --help)"
finish
