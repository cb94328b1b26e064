#!/usr/bin/env bash
# tests/integration/test_client.sh: libshoal's cluster client (shoal.h)
# against three real nodes on 127.0.0.1-3 (R=2, 1 MiB blocks, a key from
# `shoal keygen`) over the test S3 server, through client_check (public API
# only): open and the view's epoch; stat against S3's HEAD; thousands of
# random preads (any offset and length, across blocks, past the end), one
# thread and 16 at once, identical to the object, with no S3 GET once the
# blocks are cached; missing objects, a wrong key, another block size, a
# bad key file; a node paused with SIGSTOP (reads hedged to the other
# owner); `shoal stat` and `shoal get` (on the library: text, JSON,
# ranges, exit codes); shoal:// for fsspec, and pandas.read_csv on it
# (python_checks.py); an owner killed with SIGKILL (reads go on from the
# other owner); a stale view followed when a node joins.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

s3_cluster_setup
"$BUILD/shoal" keygen >"$T_TMP/other.key"
for n in 1 2 3 4; do PEER_PORT[$n]=$(free_port 127.0.0.$n); done
SEEDS="127.0.0.1:${PEER_PORT[1]}, 127.0.0.2:${PEER_PORT[2]}"
for n in 1 2 3 4; do node_config $n "$SEEDS" "  replication: 2
  block_size: 1MiB"; done
for n in 1 2 3; do start_node $n || finish; done
wait_states 15 "n1=alive n2=alive n3=alive" 1 2 3
check "3 nodes see each other alive" 0 $?

CC=$BUILD/tools/client_check
export SHOAL_SEEDS="127.0.0.2:${PEER_PORT[2]},127.0.0.1:${PEER_PORT[1]}" SHOAL_KEY_FILE=$KEY_FILE
export SHOAL_CLUSTER=itest SHOAL_BLOCK_SIZE=$BLOCK_SIZE

# the objects: written straight to S3, their bytes kept here to compare
ROOT=$ROOT PROXY_LOG=$T_TMP/s3/log/proxy.log /usr/bin/python3 - "$T_TMP" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests/integration"))
os.environ.setdefault("ADMINS", "")
from cluster_util import put
for key, size in (("c/big.bin", 5 * 1048576 + 12345), ("c/small.bin", 1000), ("c/one.bin", 1048576)):
    data, etag = put(key, size, key)
    open(os.path.join(sys.argv[1], os.path.basename(key)), "wb").write(data)
    open(os.path.join(sys.argv[1], os.path.basename(key) + ".etag"), "w").write(etag)
rows = "".join("%d,item-%d,%d.%02d\n" % (i, i * 7 % 1000, i % 500, i % 100) for i in range(60000))
csv = ("id,name,price\n" + rows).encode()  # 1.3 MB: two blocks
open(os.path.join(sys.argv[1], "table.csv"), "wb").write(csv)
from cluster_util import s3, B
s3.put_object(Bucket=B, Key="c/table.csv", Body=csv)
PY

epoch=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["epoch"])' <(curl -s "http://${NODE_ADMIN[1]}/v1/ring"))
check "open: the client's epoch is the nodes'" "ok $epoch" "$("$CC" open)"
check "stat: size and ETag as S3's HEAD" "$((5 * 1048576 + 12345)) $(cat "$T_TMP/big.bin.etag")" "$("$CC" stat lakehouse c/big.bin)"
check "stat of a missing object: ENOENT" "err ENOENT" "$("$CC" stat lakehouse c/nope.bin)"
check "stat in an unknown bucket: an error, not a crash" "err" "$("$CC" stat nobucket c/big.bin | cut -d' ' -f1)"

proxy_gets() { grep -c ' GET /lakehouse/c/' "$T_TMP/s3/log/proxy.log" 2>/dev/null || echo 0; }
check_match "2,000 random preads of a 5 MiB object, one thread: identical" "^ok 2000 " \
    "$("$CC" verify lakehouse c/big.bin "$T_TMP/big.bin" 2000 1)"
g0=$(proxy_gets)
check_match "16 threads x 200 random preads at once: identical" "^ok 3200 " \
    "$("$CC" verify lakehouse c/big.bin "$T_TMP/big.bin" 200 16)"
check "... from the owners' caches: no S3 GET" "$g0" "$(proxy_gets)"
# the same 16 threads under ThreadSanitizer (make tsan; make check builds it)
TS=$ROOT/build/tsan/tools/client_check
if [ -x "$TS" ]; then
    out=$(TSAN_OPTIONS="halt_on_error=1:exitcode=66" "$TS" verify lakehouse c/big.bin "$T_TMP/big.bin" 50 16 2>"$T_TMP/tsan.err")
    check "16 threads at once under ThreadSanitizer: identical, no report (exit 0)" "ok 800 0" \
        "$(echo "$out" | cut -d' ' -f1,2) $(grep -c ThreadSanitizer "$T_TMP/tsan.err")"
else
    check "build/tsan/tools/client_check built (make tsan)" present missing
fi
check_match "a 1000-byte object, 2 threads x 500 preads" "^ok 1000 " "$("$CC" verify lakehouse c/small.bin "$T_TMP/small.bin" 500 2)"
check_match "an object of exactly one block, 2 threads x 500 preads" "^ok 1000 " "$("$CC" verify lakehouse c/one.bin "$T_TMP/one.bin" 500 2)"

check "another cluster key: EAUTH" "err EAUTH" "$(SHOAL_KEY_FILE=$T_TMP/other.key "$CC" open)"
check "another block size: EPROTO" "err EPROTO" "$(SHOAL_BLOCK_SIZE=4194304 "$CC" open)"
echo "not a key" >"$T_TMP/bad.key"
check "a bad key file: EKEYFILE" "err EKEYFILE" "$(SHOAL_KEY_FILE=$T_TMP/bad.key "$CC" open)"
check "no seed answers: ENOSEEDS" "err ENOSEEDS" "$(SHOAL_SEEDS=127.0.0.9:$(free_port 127.0.0.9) "$CC" open)"

# the CLI on the library
S=$BUILD/shoal
check "shoal stat: the size and ETag" "size: $((5 * 1048576 + 12345)) etag: $(cat "$T_TMP/big.bin.etag")" \
    "$("$S" stat lakehouse/c/big.bin | sed -n '1,2p' | tr '\n' ' ' | sed 's/ $//')"
check "shoal stat --json: the same, as JSON" "$((5 * 1048576 + 12345)) $(cat "$T_TMP/big.bin.etag")" \
    "$("$S" --json stat lakehouse/c/big.bin | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["size"], j["etag"])')"
"$S" get -o "$T_TMP/got.bin" lakehouse/c/big.bin
check "shoal get -o FILE: exit 0" 0 $?
check "... the object's bytes" same "$(cmp -s "$T_TMP/got.bin" "$T_TMP/big.bin" && echo same || echo differ)"
check "shoal get to stdout, the same" same "$("$S" get lakehouse/c/big.bin | cmp -s - "$T_TMP/big.bin" && echo same || echo differ)"
check "shoal get --range 1048570-2097160 (across a block)" same \
    "$("$S" get --range 1048570-2097160 lakehouse/c/big.bin | cmp -s - <(tail -c +1048571 "$T_TMP/big.bin" | head -c 1048591) && echo same || echo differ)"
check "shoal get --range 100- (to the end)" same \
    "$("$S" get --range 100- lakehouse/c/small.bin | cmp -s - <(tail -c +101 "$T_TMP/small.bin") && echo same || echo differ)"
"$S" get lakehouse/c/nope.bin >/dev/null 2>"$T_TMP/err"
check "shoal get of a missing object: exit 1" 1 $?
check_match "... saying so" "no such object" "$(cat "$T_TMP/err")"
"$S" get --range 5000- lakehouse/c/small.bin >/dev/null 2>&1
check "shoal get --range past the end: exit 1" 1 $?
"$S" get --range x-y lakehouse/c/small.bin >/dev/null 2>&1
check "shoal get --range x-y: usage, exit 2" 2 $?
"$S" stat nokey >/dev/null 2>&1
check "shoal stat without BUCKET/KEY: usage, exit 2" 2 $?
SHOAL_SEEDS= "$S" stat lakehouse/c/big.bin >/dev/null 2>&1
check "shoal stat without seeds: usage, exit 2" 2 $?

# the Python file system (shoal:// for fsspec, pandas) on the library
# (the ASan build's library needs its runtimes loaded first; Python's own
# allocations are not checked for leaks)
PRELOAD=
if nm -D "$BUILD/libshoal.so" 2>/dev/null | grep -q __asan_init; then
    PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"
fi
DIR=$T_TMP SHOAL_LIB=$BUILD/libshoal.so LD_PRELOAD=$PRELOAD \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" run_checks python_checks.py

# a node paused with SIGSTOP: reads go to the other owner after the hedge
# delay, not after the 2 s timeout
kill -STOP "${NODE_PID[2]}"
out=$("$CC" verify lakehouse c/big.bin "$T_TMP/big.bin" 300 1)
kill -CONT "${NODE_PID[2]}"
check_match "n2 paused (SIGSTOP): 300 random preads, identical" "^ok 300 " "$out"
check "... none waited the 2 s timeout: hedged to the other owner (slowest read < 1 s)" 1 \
    "$(echo "$out" | awk '{ print ($4 < 1000) ? 1 : 0 }')"
echo "     (slowest read with n2 paused: $(echo "$out" | awk '{ print $4 }') ms)"
wait_states 15 "n1=alive n2=alive n3=alive" 1 2 3

# an owner killed: reads go on from the other owners (before and after its death is known)
kill -KILL "${NODE_PID[3]}"
wait "${NODE_PID[3]}" 2>/dev/null
check_match "n3 killed: 300 random preads right away, identical" "^ok 300 " \
    "$("$CC" verify lakehouse c/big.bin "$T_TMP/big.bin" 300 1)"
wait_states 15 "n1=alive n2=alive n3=dead" 1 2
check_match "... and once n3 is known dead" "^ok 300 " \
    "$("$CC" verify lakehouse c/big.bin "$T_TMP/big.bin" 300 1)"

# a stale view: the client opened before n4 joined follows the cluster
rm -f "$T_TMP/go"
"$CC" epochs lakehouse c/big.bin "$T_TMP/go" >"$T_TMP/epochs" &
EP=$!
sleep 0.5
start_node 4 || finish
wait_member 15 n4 alive 1 2 4
sleep 0.5
touch "$T_TMP/go"
wait $EP
new=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["epoch"])' <(curl -s "http://${NODE_ADMIN[1]}/v1/ring"))
read -r e1 e2 eerr <"$T_TMP/epochs"
check "a node joined: the client's next read brings the new view" "$new ok" "$e2 $eerr"
check "... which differs from the one it opened with" 1 "$([ "$e1" != "$e2" ] && echo 1 || echo 0)"
check_match "4 nodes: 4 threads x 300 random preads, identical" "^ok 1200 " \
    "$("$CC" verify lakehouse c/big.bin "$T_TMP/big.bin" 300 4)"
finish
