#!/bin/bash
# The S3 backend of ufs against a real, strict S3 server: tests/s3/s3-server
# (OpenStack Swift with s3api, which checks SigV4 signatures) started on a
# free port, then BUILD/tests/test_ufs_s3 and BUILD/tests/test_ufs_s3_live
# with S3_ENDPOINT and the credentials in their environment: the second
# drives every operation against the server (stat, reads, writes,
# multipart, listing, buckets, errors, faults injected by its own TCP
# proxy), the first runs the tests that need none. With a plain BUILD,
# test_ufs_s3_live runs a second time under valgrind (tests/run.sh's flags);
# tests/run.sh runs this script against build/asan too, which covers ASan
# and UBSan. The unit passes of tests/run.sh skip test_ufs_s3_live: this is
# where it runs. Each program's "N passed, N failed" is added to this
# script's; test_ufs_s3_live must run its cases against the server (a run
# that says "S3_ENDPOINT not set" or passes nothing is a failure). A missing
# server script or valgrind is a failure, not a skip.
. "$(dirname "$0")/lib.sh"
SRV=$ROOT/tests/s3/s3-server
LIVE=$BUILD/tests/test_ufs_s3_live
VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect)

if [ ! -x "$SRV" ]; then
    check "tests/s3/s3-server is there" "present" "missing: $SRV"
    finish
fi
for p in test_ufs_s3 test_ufs_s3_live; do
    if [ ! -x "$BUILD/tests/$p" ]; then
        check "$p is built" "present" "missing: $BUILD/tests/$p"
        finish
    fi
done
T_CLEANUP+=("$(printf '%q stop %q >/dev/null 2>&1' "$SRV" "$T_TMP/s3")")
if ! "$SRV" start "$T_TMP/s3" 0 >"$T_TMP/env" 2>"$T_TMP/start.err"; then
    check "s3-server starts" 0 1
    sed 's/^/    | /' "$T_TMP/start.err"
    finish
fi
set -a
. "$T_TMP/env"
set +a
if [ -z "${S3_ENDPOINT:-}" ]; then
    check "s3-server prints S3_ENDPOINT" "set" "unset"
    finish
fi

# run_prog LABEL CMD...: runs a test program, shows its output, adds its
# "N passed, N failed" to this script's and sets RUN_PASSED. A program that
# dies before its summary, or exits non-zero with every case passing (a
# sanitizer or valgrind report), counts one failure.
run_prog() {
    local label=$1 out=$T_TMP/$1.out rc line p f
    shift
    "$@" >"$out" 2>&1 </dev/null
    rc=$?
    grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    p=$(echo "$line" | sed -nE 's/^([0-9]+) passed.*/\1/p')
    f=$(echo "$line" | sed -nE 's/.* ([0-9]+) failed$/\1/p')
    if [ -z "$line" ]; then
        echo "FAIL $label died (exit $rc) before its summary"
        p=0
        f=1
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $label exited $rc with every case passing"
        f=1
    fi
    echo "$label: $p passed, $f failed"
    T_PASS=$((T_PASS + p))
    T_FAIL=$((T_FAIL + f))
    RUN_PASSED=$p
}

# live_ran LABEL: the live program's last run reached the server
live_ran() {
    check "$1: ran against $S3_ENDPOINT (S3_ENDPOINT seen, cases passed)" yes \
        "$(! grep -q 'S3_ENDPOINT not set' "$T_TMP/$1.out" && [ "$RUN_PASSED" -gt 0 ] && echo yes || echo no)"
}

run_prog test_ufs_s3 "$BUILD/tests/test_ufs_s3"
run_prog test_ufs_s3_live "$LIVE"
live_ran test_ufs_s3_live
live_cases=$RUN_PASSED
if grep -aq __asan_init "$LIVE"; then
    echo "     ($LIVE is built with ASan+UBSan: no valgrind run)"
elif ! command -v valgrind >/dev/null; then
    check "valgrind is installed (deploy/deps.sh test)" yes no
else
    run_prog valgrind-test_ufs_s3_live "${VALGRIND[@]}" "$LIVE"
    live_ran valgrind-test_ufs_s3_live
    check "valgrind: as many cases passed as without it" "$live_cases" "$RUN_PASSED"
fi
check "the S3 server is still up at the end" 0 "$("$SRV" status "$T_TMP/s3" >/dev/null 2>&1; echo $?)"
finish
