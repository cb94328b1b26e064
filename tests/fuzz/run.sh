#!/bin/bash
# tests/fuzz/run.sh: run the libFuzzer targets for a while each and report.
#
#   tests/fuzz/run.sh [-j N] [-n NICE] [-o DIR] [-k] [--save] [--no-build] SECONDS [TARGET...]
#
# Each TARGET (default: every tests/fuzz/fuzz_NAME.c; give NAME, e.g. http)
# runs build/fuzz/fuzz_NAME for SECONDS (its own -max_total_time; the
# targets are single-threaded, so that is as many CPU seconds) on a scratch
# copy of its seed corpus, DIR/NAME/corpus, never on tests/fuzz/corpus/.
# Crash, leak, timeout and out-of-memory inputs go to DIR/NAME/crashes/, the
# fuzzer's output to DIR/NAME/log. The target's own options come from the
# "fuzz-args:" line of its source (max_len, timeout).
#
#   -j N        N targets at once (default 1; the machine's cores are shared)
#   -n NICE     nice level of the fuzzers (default 10)
#   -o DIR      where the runs go (default build/fuzz/runs/DATE-TIME)
#   -k          keep going after a crash until SECONDS are used (at most 10
#               crashes kept per target); by default a target stops at its first
#   --save      afterwards, merge each scratch corpus's new inputs into
#               tests/fuzz/corpus-new/NAME/ (ignored by git) to pick seeds from
#   --no-build  do not run `make fuzz` first
#
# Prints one line per target: name, executions, CPU seconds, crashes, new
# corpus entries; exits 1 if any target crashed (or did not run), with the
# crash files named. For 30 CPU-minutes per target, two at a time:
#   tests/fuzz/run.sh -j 2 1800
set -u
cd "$(dirname "$0")/../.." || exit 2

JOBS=1
NICE=10
OUT=
KEEP=0
SAVE=0
BUILD=1
usage() {
    sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    -j) JOBS=$2; shift 2 ;;
    -n) NICE=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    -k) KEEP=1; shift ;;
    --save) SAVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || usage
SECS=$1
shift
case "$SECS" in
'' | *[!0-9]*) echo "run.sh: SECONDS must be a number: $SECS" >&2; exit 2 ;;
esac
case "$JOBS" in
'' | *[!0-9]* | 0) echo "run.sh: -j needs a positive number" >&2; exit 2 ;;
esac
if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=()
    for f in tests/fuzz/fuzz_*.c; do
        n=${f#tests/fuzz/fuzz_}
        TARGETS+=("${n%.c}")
    done
fi
for t in "${TARGETS[@]}"; do
    if [ ! -f "tests/fuzz/fuzz_$t.c" ] || [ ! -d "tests/fuzz/corpus/$t" ]; then
        echo "run.sh: no target $t (tests/fuzz/fuzz_$t.c and tests/fuzz/corpus/$t/)" >&2
        exit 2
    fi
done
if [ "$BUILD" = 1 ]; then
    make -s -j"$JOBS" $(printf 'build/fuzz/fuzz_%s ' "${TARGETS[@]}") || exit 2
fi
OUT=${OUT:-build/fuzz/runs/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || exit 2

# run_target NAME: fuzz one target; writes OUT/NAME/summary
run_target() {
    local t=$1 d="$OUT/$1" bin="build/fuzz/fuzz_$1" args left start now execs=0 cpu=0 rc
    local seeds tf u s n
    mkdir -p "$d/corpus" "$d/crashes"
    cp -r "tests/fuzz/corpus/$t/." "$d/corpus/"
    seeds=$(find "$d/corpus" -type f | wc -l)
    args=$(sed -n 's/^ \* fuzz-args: //p' "tests/fuzz/fuzz_$t.c" | head -n 1)
    case " $args " in *" -timeout="*) ;; *) args="$args -timeout=25" ;; esac
    : >"$d/log"
    start=$(date +%s)
    left=$SECS
    tf="$d/.time"
    while :; do
        # bash's time: the user and system CPU seconds of the fuzzer
        { TIMEFORMAT='%U %S'; time nice -n "$NICE" "$bin" -max_total_time="$left" \
            -print_final_stats=1 -artifact_prefix="$d/crashes/" $args "$d/corpus" \
            >>"$d/log" 2>&1; } 2>"$tf"
        rc=$?
        read -r u s <"$tf" || { u=0; s=0; }
        cpu=$(awk -v a="$cpu" -v b="$u" -v c="$s" 'BEGIN { printf "%.1f", a + b + c }')
        n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n 1)
        execs=$((execs + ${n:-0}))
        sed -i 's/^stat::number_of_executed_units:/stat::counted_executed_units:/' "$d/log"
        now=$(date +%s)
        left=$((SECS - (now - start)))
        [ "$rc" -ne 0 ] || break
        [ "$KEEP" = 1 ] && [ "$left" -gt 5 ] || break
        [ "$(find "$d/crashes" -type f | wc -l)" -lt 10 ] || break
        echo "=== run.sh: the fuzzer exited $rc; going on for ${left}s" >>"$d/log"
    done
    n=$(find "$d/crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) | wc -l)
    if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
        n=1 # it died without leaving an input: see the log
        echo "=== run.sh: the fuzzer exited $rc and left no input" >>"$d/log"
    fi
    printf '%s %s %s %s %s\n' "$t" "$execs" "$cpu" "$n" \
        "$(($(find "$d/corpus" -type f | wc -l) - seeds))" >"$d/summary"
    rm -f "$tf"
}

running=0
for t in "${TARGETS[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_target "$t" &
    running=$((running + 1))
done
wait

failed=0
printf '%-14s %12s %10s %8s %12s\n' target executions cpu_s crashes new_entries
for t in "${TARGETS[@]}"; do
    if [ ! -f "$OUT/$t/summary" ]; then
        printf '%-14s did not run (see %s)\n' "$t" "$OUT/$t/log"
        failed=1
        continue
    fi
    read -r name execs cpu crashes new <"$OUT/$t/summary"
    printf '%-14s %12s %10s %8s %12s\n' "$name" "$execs" "$cpu" "$crashes" "$new"
    if [ "$crashes" -gt 0 ]; then
        failed=1
        find "$OUT/$t/crashes" -type f | sed 's/^/    /'
        echo "    log: $OUT/$t/log; reproduce: build/fuzz/fuzz_$t FILE or build/tests/test_fuzz_$t FILE"
    fi
    if [ "$SAVE" = 1 ]; then
        mkdir -p "tests/fuzz/corpus-new/$t"
        "build/fuzz/fuzz_$t" -merge=1 "tests/fuzz/corpus-new/$t" "$OUT/$t/corpus" \
            >>"$OUT/$t/log" 2>&1 || echo "    merging into tests/fuzz/corpus-new/$t failed"
    fi
done
echo "runs in $OUT"
exit $failed
