#!/bin/bash
# tests/run.sh: run shoal's tests and print one final "N passed, N failed".
#
#   tests/run.sh unit BUILD     unit tests in BUILD/tests/
#   tests/run.sh check BUILD    unit tests; the same under ASan+UBSan (build/asan);
#                               under valgrind; then each tests/integration/*.sh
#                               twice: against BUILD, and against build/asan
#                               (but those with a "# not-under-asan: WHY" line)
#
# Each test program prints its own "N passed, N failed" as its last line; a
# program that dies before printing it counts as one failure. Logs of failing
# programs are printed. Exit 0 only when nothing failed.
#
# test_ufs_s3_live needs a live S3 server: the unit passes skip it, saying
# so, unless S3_ENDPOINT is set ("unit" mode only);
# tests/integration/test_ufs_s3.sh runs it against its own server, plain,
# under valgrind and (in its build/asan run) under ASan+UBSan.
set -u
cd "$(dirname "$0")/.." || exit 2
MODE=${1:-}
BUILD=${2:-build}
PASS=0
FAIL=0
LOGDIR=$(mktemp -d /tmp/shoal-tests.XXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT

# run_one LABEL CMD...: run a test program, add its counts to the totals
run_one() {
    local label=$1 log rc line p f t0 secs
    shift
    log="$LOGDIR/$(echo "$label" | tr -c 'A-Za-z0-9_.-' _).log"
    t0=$EPOCHREALTIME
    "$@" >"$log" 2>&1 </dev/null
    rc=$?
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f s", b - a}')
    line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
        f=$(echo "$line" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
    else
        p=0
        f=1
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1   # exited non-zero (a sanitizer or valgrind report) with all checks passing
    fi
    PASS=$((PASS + p))
    FAIL=$((FAIL + f))
    if [ "$f" -ne 0 ]; then
        printf '%-40s %s passed, %s failed (exit %s, %s)\n' "$label" "$p" "$f" "$rc" "$secs"
        sed 's/^/    | /' "$log" | tail -n 60
    else
        printf '%-40s %s passed (%s)\n' "$label" "$p" "$secs"
    fi
}

run_unit() {  # build-dir label-prefix [wrapper...]
    local b=$1 pre=$2 t
    shift 2
    for t in "$b"/tests/test_*; do
        [ -x "$t" ] || continue
        if [ "$(basename "$t")" = test_ufs_s3_live ] && { [ "$MODE" = check ] || [ -z "${S3_ENDPOINT:-}" ]; }; then
            printf '%-40s skipped: needs a live S3 server (integration/test_ufs_s3 runs it)\n' "$pre$(basename "$t")"
            continue
        fi
        run_one "$pre$(basename "$t")" "$@" "$t"
    done
}

case "$MODE" in
unit)
    run_unit "$BUILD" "unit/"
    ;;
check)
    run_unit "$BUILD" "unit/"
    if [ -d build/asan/tests ]; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            run_unit build/asan "asan/"
    else
        echo "asan build missing (build/asan): counted as a failure"
        FAIL=$((FAIL + 1))
    fi
    if command -v valgrind >/dev/null; then
        run_unit "$BUILD" "valgrind/" valgrind -q --error-exitcode=99 --leak-check=full \
            --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
    else
        echo "valgrind missing: counted as a failure"
        FAIL=$((FAIL + 1))
    fi
    if [ ! -x build/asan/shoald ]; then
        echo "asan build missing (build/asan/shoald): integration tests not run under ASan, counted as a failure"
        FAIL=$((FAIL + 1))
    fi
    for t in tests/integration/test_*.sh; do
        [ -f "$t" ] || continue
        name=$(basename "$t" .sh)
        SHOAL_BUILD=$BUILD run_one "integration/$name" bash "$t"
        # again against the ASan+UBSan binaries, unless the test says why it
        # cannot be; lib.sh fails a test on any sanitizer report
        why=$(sed -n 's/^# not-under-asan: *//p' "$t" | head -n 1)
        if [ -n "$why" ]; then
            printf '%-40s skipped: %s\n' "integration-asan/$name" "$why"
        elif [ -x build/asan/shoald ]; then
            ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 SHOAL_BUILD=build/asan \
                run_one "integration-asan/$name" bash "$t"
        fi
    done
    ;;
*)
    echo "usage: tests/run.sh unit|check BUILD" >&2
    exit 2
    ;;
esac
echo "(${SECONDS} s in all)"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
