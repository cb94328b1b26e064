#!/bin/bash
# tests/bench/run.sh BUILD: shoal's benchmarks (`make bench`). Each prints
# its figures next to the reference the issue names; none is a pass/fail test.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${1:-build}
status=0
for b in tests/bench/bench_*.sh; do
    [ -f "$b" ] || continue
    echo "== $(basename "$b" .sh)"
    bash "$b" "$BUILD" || status=1
done
exit $status
