# tests/integration/lib.sh: what the integration tests share. Source it.
# Each test calls check NAME EXPECTED OBSERVED and ends with finish, which
# prints "N passed, N failed" and exits 1 if anything failed.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${SHOAL_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
T_PASS=0
T_FAIL=0
T_TMP=$(mktemp -d /tmp/shoal-it.XXXXXX)
T_CLEANUP=()
cleanup() {
    local c
    for c in "${T_CLEANUP[@]+"${T_CLEANUP[@]}"}"; do eval "$c" || true; done
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

finish() {
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
# SHOALD_PID and SHOALD_ADMIN (host:port). Returns 1 if it did not come up.
# The daemon is killed at exit unless stopped before.
start_shoald() {
    local name=$1 cfg=$2 dir i
    dir=$(awk '/^ *data_dir:/ {print $2; exit}' "$cfg")
    rm -f "$dir/shoald.ports"
    "$BUILD/shoald" -c "$cfg" >>"$T_TMP/$name.log" 2>&1 &
    SHOALD_PID=$!
    T_CLEANUP+=("kill -9 $SHOALD_PID 2>/dev/null")
    for i in $(seq 200); do
        if [ -s "$dir/shoald.ports" ]; then
            SHOALD_ADMIN=$(sed -n 's/^admin=//p' "$dir/shoald.ports")
            SHOALD_S3=$(sed -n 's/^s3=//p' "$dir/shoald.ports")
            return 0
        fi
        kill -0 "$SHOALD_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "shoald $name did not come up; its log:"
    tail -n 20 "$T_TMP/$name.log"
    return 1
}

# stop_shoald PID [SIGNAL]: signals (TERM by default) and waits up to 10 s;
# sets STOP_STATUS to the exit status, or "hung" (then kills it). Call it
# directly, not in $(...): only this shell can wait for its children.
stop_shoald() {
    local pid=$1 sig=${2:-TERM} i
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

# log_clean NAME: "clean" unless the daemon's log holds a sanitizer or
# valgrind report.
log_clean() {
    if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|==[0-9]+== (Invalid|Conditional)' "$T_TMP/$1.log"; then
        grep -E -A5 'Sanitizer|runtime error|==[0-9]+==' "$T_TMP/$1.log" | head -30
        echo dirty
    else
        echo clean
    fi
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
