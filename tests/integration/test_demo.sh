#!/bin/bash
# The README's `make demo` (deploy/demo.sh): it runs to the end with no
# standard input, each claim it prints holds (bytes read back identical,
# still served after the delete in S3, cache hits in the metrics, the ring's
# status), and it stops everything it started.
. "$(dirname "$0")/lib.sh"

DEMO_DIR=$T_TMP/demo "$ROOT/deploy/demo.sh" "$BUILD" </dev/null >"$T_TMP/demo.out" 2>&1
rc=$?
check "make demo's script exits 0" 0 $rc
[ $rc = 0 ] || tail -n 30 "$T_TMP/demo.out"
out=$(sed 's/\x1b\[[0-9;]*m//g' "$T_TMP/demo.out")
check_match "written through: the files are listed in S3" "part-2\.orc" "$out"
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
