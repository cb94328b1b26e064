# tests/integration/lib.sh: what the integration tests share. Source it.
# Each test calls check NAME EXPECTED OBSERVED and ends with finish, which
# stops every daemon and server still running, fails on any sanitizer report
# a program of the test left (see sanitizer_reports), prints
# "N passed, N failed" and exits 1 if anything failed.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SHOAL_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
T_PASS=0
T_FAIL=0
T_TMP=$(mktemp -d /tmp/shoal-it.XXXXXX)
T_CLEANUP=()
T_DAEMONS=() # pids from start_shoald not stopped yet
T_FINISHED=
# A program built with ASan writes its ASan and LSan reports to
# $T_SAN/asan.PID whatever it does with its stderr (also /dev/null, or a
# $(...) the test compares): finish fails on any. GCC's libubsan ignores
# log_path, so UBSan reports go to stderr, which tests send to files under
# T_TMP (scanned too); and a program stopped by UBSan exits 87, a status no
# check expects (ASan and LSan exit 1 and 23 as usual; the report file
# catches those).
T_SAN=$T_TMP/sanitizer
mkdir -p "$T_SAN"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T_SAN/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:exitcode=87"
# what a sanitizer or valgrind report looks like in a log
T_SAN_RE='ERROR: (Address|Leak|Undefined)Sanitizer|SUMMARY: (Address|Leak|Undefined)Sanitizer|runtime error: |==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Mismatched free|Syscall param|[0-9,]+ bytes in [0-9,]+ blocks are (definitely|indirectly) lost)'

# stop_everything: stops the daemons still running (SIGTERM, so that LSan
# looks for leaks at their exit; a daemon that ignores it for 10 s is killed
# and counted as a failure), then runs T_CLEANUP. Runs once.
stop_everything() {
    local p c
    for p in "${T_DAEMONS[@]+"${T_DAEMONS[@]}"}"; do
        stop_shoald "$p" TERM
        if [ "$STOP_STATUS" = hung ]; then
            T_FAIL=$((T_FAIL + 1))
            echo "FAIL shoald (pid $p) still running at the end stops on SIGTERM"
            echo "     observed: still running 10 s after SIGTERM: killed"
        fi
    done
    for c in "${T_CLEANUP[@]+"${T_CLEANUP[@]}"}"; do eval "$c" || true; done
    T_CLEANUP=()
}

# sanitizer_reports: prints every sanitizer or valgrind report a program of
# this test left: the ASan/LSan report files, and report lines in any file
# under T_TMP (daemon logs, captured stderr). Prints nothing when clean.
sanitizer_reports() {
    local f
    for f in "$T_SAN"/asan.*; do
        [ -e "$f" ] || continue
        echo "== $f"
        head -n 40 "$f"
    done
    grep -rlaE -D skip --exclude-dir=sanitizer -- "$T_SAN_RE" "$T_TMP" 2>/dev/null | sort | while read -r f; do
        echo "== $f"
        grep -aE -A12 -- "$T_SAN_RE" "$f" | head -n 40
    done
}

cleanup() {
    local r
    stop_everything
    if [ -z "$T_FINISHED" ]; then # died before finish: show what it can
        r=$(sanitizer_reports)
        [ -z "$r" ] || printf 'sanitizer reports:\n%s\n' "$r"
    fi
    rm -rf "$T_TMP"
}
trap cleanup EXIT

# check NAME EXPECTED OBSERVED
check() {
    if [ "$2" = "$3" ]; then
        T_PASS=$((T_PASS + 1))
        echo "ok   $1"
    else
        T_FAIL=$((T_FAIL + 1))
        echo "FAIL $1"
        echo "     expected: $2"
        echo "     observed: $3"
    fi
}

# check_match NAME REGEX OBSERVED
check_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then
        T_PASS=$((T_PASS + 1))
        echo "ok   $1"
    else
        T_FAIL=$((T_FAIL + 1))
        echo "FAIL $1"
        echo "     expected to match: $2"
        echo "     observed: $3"
    fi
}

# finish: stops everything still running, then checks that no program of
# the test left a sanitizer report (counted like any check), prints
# "N passed, N failed" and exits 1 if anything failed.
finish() {
    local r
    stop_everything
    r=$(sanitizer_reports)
    if [ -z "$r" ]; then
        T_PASS=$((T_PASS + 1))
        echo "ok   no sanitizer report from any program it ran"
    else
        T_FAIL=$((T_FAIL + 1))
        echo "FAIL no sanitizer report from any program it ran"
        printf '%s\n' "$r" | sed 's/^/     | /'
    fi
    T_FINISHED=1
    echo "$T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ]
    exit $?
}

# json_get FILE KEY: a number or string value from a flat JSON object
json_get() {
    /usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v)' "$1" "$2"
}

# start_shoald NAME CONFIG: starts build/shoald -c CONFIG in the background,
# logging to $T_TMP/NAME.log, waits (max 20 s) for its ports file, and sets
# SHOALD_PID, SHOALD_ADMIN and SHOALD_S3 (host:port). Returns 1 if it did not
# come up. finish (or the exit) stops it with SIGTERM unless stopped before.
start_shoald() {
    local name=$1 cfg=$2 dir i
    dir=$(awk '/^ *data_dir:/ {print $2; exit}' "$cfg")
    rm -f "$dir/shoald.ports"
    # SHOALD_WRAP: a command to run it through (e.g. "ip netns exec NS"); it
    # must exec shoald, so that $! is shoald's pid
    ${SHOALD_WRAP:-} "$BUILD/shoald" -c "$cfg" >>"$T_TMP/$name.log" 2>&1 &
    SHOALD_PID=$!
    T_DAEMONS+=("$SHOALD_PID")
    for i in $(seq 200); do
        if [ -s "$dir/shoald.ports" ]; then
            SHOALD_ADMIN=$(sed -n 's/^admin=//p' "$dir/shoald.ports")
            SHOALD_S3=$(sed -n 's/^s3=//p' "$dir/shoald.ports")
            return 0
        fi
        kill -0 "$SHOALD_PID" 2>/dev/null || break
        sleep 0.1
    done
    T_FAIL=$((T_FAIL + 1)) # the checks it was started for cannot run
    echo "FAIL shoald $name comes up; its log:"
    tail -n 20 "$T_TMP/$name.log"
    return 1
}

# stop_shoald PID [SIGNAL]: signals (TERM by default) and waits up to 10 s;
# sets STOP_STATUS to the exit status, or "hung" (then kills it). Call it
# directly, not in $(...): only this shell can wait for its children.
stop_shoald() {
    local pid=$1 sig=${2:-TERM} i p keep=()
    for p in "${T_DAEMONS[@]+"${T_DAEMONS[@]}"}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    T_DAEMONS=("${keep[@]+"${keep[@]}"}")
    kill -"$sig" "$pid" 2>/dev/null
    for i in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null || [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then
            wait "$pid" 2>/dev/null
            STOP_STATUS=$?
            return 0
        fi
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    STOP_STATUS=hung
}

# start_s3_server: starts the test S3 server (tests/s3/s3-server) in
# $T_TMP/s3, stopped at exit, and exports its S3_ENDPOINT and keys. On
# failure it counts a failed check, shows why and ends the test (finish).
start_s3_server() {
    local srv=$ROOT/tests/s3/s3-server
    T_CLEANUP+=("$(printf '%q stop %q' "$srv" "$T_TMP/s3")")
    if ! "$srv" start "$T_TMP/s3" >"$T_TMP/s3.env" 2>"$T_TMP/s3.err"; then
        check "S3 server starts" 0 1
        cat "$T_TMP/s3.err"
        finish
    fi
    set -a
    . "$T_TMP/s3.env"
    set +a
}

# s3_create_bucket NAME: creates bucket NAME on the test S3 server (account
# test), as a check.
s3_create_bucket() {
    /usr/bin/python3 -c 'import os, sys, boto3; from botocore.config import Config
boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
             config=Config(s3={"addressing_style": "path"})).create_bucket(Bucket=sys.argv[1])' "$1"
    check "bucket $1 created in S3" 0 $?
}

# run_checks SCRIPT [ARG...]: runs a Python check script (tests/integration/
# SCRIPT, with s3check.py beside it) with the environment as it is, shows
# its lines and adds its "N passed, N failed" to this test's counts; a
# script that printed no summary (it crashed) counts as one failure.
run_checks() {
    local script=$1 out p f
    shift
    out=$(PYTHONPATH=$ROOT/tests/integration /usr/bin/python3 "$ROOT/tests/integration/$script" "$@" 2>&1)
    echo "$out" | grep -v '^[0-9]* passed, [0-9]* failed$'
    p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    T_PASS=$((T_PASS + ${p:-0}))
    T_FAIL=$((T_FAIL + ${f:-1}))
}

# min_config DIR OUT: a one-node config on free loopback ports with data in
# DIR/data and one mount, "lakehouse", of the directory DIR/ufs (made here).
min_config() {
    mkdir -p "$1/ufs"
    cat >"$2" <<YAML
node:
  name: n1
  data_dir: $1/data
listen:
  admin: 127.0.0.1:0
  s3: 127.0.0.1:0
  peer: 127.0.0.1:0
mounts:
  - name: lakehouse
    ufs: file://$1/ufs
YAML
}
