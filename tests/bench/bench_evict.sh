#!/bin/bash
# tests/bench/bench_evict.sh BUILD: block store figures (run by tests/bench/run.sh).
#   1. hit ratios of S3-FIFO and LRU at the same capacity through the store's
#      real policy code: Zipf traces, and a hot set under one-pass scans;
#   2. the startup scan of BLOCKS (100,000) block files on disk: time and the
#      RSS of a process whose store indexes them (memory tier 1 MiB).
# Env: BLOCKS (100000), BLOCK_LEN (512), COLD=1 also times a scan after
# dropping the page cache (root only; it affects the whole machine).
set -u
BUILD=${1:-build}
B=$BUILD/bench/bench_evict
N=${BLOCKS:-100000}
LEN=${BLOCK_LEN:-512}
[ -x "$B" ] || { echo "bench_evict: $B missing (make $B)"; exit 1; }
"$B" trace || exit 1
echo "target: a one-pass scan 5x the cache does not evict a hot set that fits (S3-FIFO hot ratio ~1.0)"
echo

DIR=$(mktemp -d /tmp/shoal-bench-evict.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
"$B" populate "$DIR/disk" "$N" "$LEN" >"$DIR/populate.txt" || exit 1
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2"; }
"$B" scan "$DIR/disk" lru >"$DIR/lru.txt" || exit 1
"$B" scan "$DIR/disk" s3fifo >"$DIR/s3.txt" || exit 1
if [ "${COLD:-0}" = 1 ] && sync && echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then
    "$B" scan "$DIR/disk" lru >"$DIR/lru_cold.txt"
    sync && echo 3 >/proc/sys/vm/drop_caches
    "$B" scan "$DIR/disk" s3fifo >"$DIR/s3_cold.txt"
fi
line() { # label lru s3
    awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%-44s %8s %8s %12.3f\n", l, a, b, (a > 0 ? b / a : 0) }'
}
printf '%-44s %8s %8s %12s\n' "startup scan, $N blocks of $LEN B on disk" LRU S3-FIFO S3-FIFO/LRU
line "blocks indexed" "$(field blocks "$DIR/lru.txt")" "$(field blocks "$DIR/s3.txt")"
line "scan time, ms (warm page cache)" "$(field ms "$DIR/lru.txt")" "$(field ms "$DIR/s3.txt")"
if [ -f "$DIR/s3_cold.txt" ]; then
    line "scan time, ms (cold page cache)" "$(field ms "$DIR/lru_cold.txt")" "$(field ms "$DIR/s3_cold.txt")"
fi
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
line "process RSS after open, MiB" "$(mib "$(field rss_kib "$DIR/lru.txt")")" \
    "$(mib "$(field rss_kib "$DIR/s3.txt")")"
line "index bytes per block (RSS growth)" "$(field index_bytes_per_block "$DIR/lru.txt")" \
    "$(field index_bytes_per_block "$DIR/s3.txt")"
# steady state: twice as many one-off puts as the disk holds, so the disk
# tier evicts and S3-FIFO's ghost queue is full (LRU has none)
"$B" populate "$DIR/churn" $((2 * N)) "$LEN" "$N" >"$DIR/churn.txt" || exit 1
line "RSS after $((2 * N)) puts into $N-block disk, MiB" "-" \
    "$(mib "$(field rss_kib "$DIR/churn.txt")")" 2>/dev/null | sed 's/ *0.000$//'
echo "(populating took $(field s "$DIR/populate.txt") s; the churn run $(field s "$DIR/churn.txt") s)"
echo "target: daemon RSS with 100,000 cached blocks <= 64 MiB + the memory tier; the index within ~30 MiB"
