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
