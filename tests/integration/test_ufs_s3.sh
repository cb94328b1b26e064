#!/bin/bash
# The S3 backend of ufs against a real, strict S3 server: tests/s3/s3-server
# (OpenStack Swift with s3api, which checks SigV4 signatures) started on a
# free port, then build/tests/test_ufs_s3 and build/tests/test_ufs_s3_live
# with S3_ENDPOINT and the credentials in their environment: the second
# drives every operation against the server (stat, reads, writes,
# multipart, listing, buckets, errors, faults injected by its own TCP
# proxy), the first runs the tests that need none. The sum of the
# programs' "N passed, N failed" is this script's last line. A missing
# server script is a failure, not a skip.
. "$(dirname "$0")/lib.sh"
SRV=$ROOT/tests/s3/s3-server
PROGS=(test_ufs_s3 test_ufs_s3_live)

if [ ! -x "$SRV" ]; then
    check "tests/s3/s3-server is there" "present" "missing: $SRV"
    finish
fi
for p in "${PROGS[@]}"; do
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

passed=0
failed=0
for p in "${PROGS[@]}"; do
    "$BUILD/tests/$p" >"$T_TMP/out" 2>&1
    rc=$?
    grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$T_TMP/out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$T_TMP/out" | tail -n 1)
    p_passed=$(echo "$line" | sed -nE 's/^([0-9]+) passed.*/\1/p')
    p_failed=$(echo "$line" | sed -nE 's/.* ([0-9]+) failed$/\1/p')
    if [ -z "$line" ]; then
        echo "$p died (exit $rc) before its summary"
        p_passed=0
        p_failed=1
    elif [ "$rc" -ne 0 ] && [ "$p_failed" -eq 0 ]; then
        echo "$p exited $rc with every check passing"
        p_failed=1
    fi
    passed=$((passed + p_passed))
    failed=$((failed + p_failed))
done
if ! "$SRV" status "$T_TMP/s3" >/dev/null 2>&1; then
    echo "the S3 server died during the test"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
