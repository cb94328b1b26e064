# tests/bench/lib.sh: what the benchmark scripts share (source it; bash).
# They set CHILD="" before and kill "$CHILD" in their EXIT trap.

# stop_pid PID: TERM, then KILL after 10 s; reaps it.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$1" 2>/dev/null || break
        [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ] && break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# bg CMD...: runs CMD in the background and waits for it: bash runs a trap
# only once a foreground command has ended, but interrupts `wait` at once.
bg() {
    local rc
    "$@" &
    CHILD=$!
    wait "$CHILD"
    rc=$?
    CHILD=
    return $rc
}

# med: the median of the numbers on stdin, one a line
med() {
    sort -g | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}
