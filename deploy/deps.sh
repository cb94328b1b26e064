#!/bin/sh
# deploy/deps.sh: install the Debian packages shoal needs to build, test,
# benchmark and demo, non-interactively. A no-op when all are present.
#
#   deploy/deps.sh [build|test|bench|all]    (default: all)
#
# Exit codes: 0 all present (or installed), 1 install failed, 2 usage.
set -eu

build="build-essential pkg-config libevent-dev libcurl4-openssl-dev libmsgpack-dev libyaml-dev libssl-dev libexpat1-dev libxxhash-dev libhttp-parser-dev libjansson-dev"
test="valgrind curl python3-swift memcached awscli python3-boto3 python3-msgpack python3-xxhash python3-fsspec python3-pandas iproute2 nftables"
bench="nginx-light wrk iperf3 golang-go golang-github-hashicorp-memberlist-dev"

case "${1:-all}" in
    build) want="$build" ;;
    test) want="$build $test" ;;
    bench) want="$build $test $bench" ;;
    all) want="$build $test $bench" ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: deploy/deps.sh [build|test|bench|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$st" in ii*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: need root (or sudo) to install:$missing" >&2; exit 1; }
    SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
# Debian package scripts may try to start services (nginx, memcached); the
# tests start their own instances on free ports, so keep the system ones off.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt_opts="-y -q --no-install-recommends -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
# shellcheck disable=SC2086
if ! $SUDO apt-get install $apt_opts $missing </dev/null; then
    $SUDO apt-get update -q </dev/null || true
    # shellcheck disable=SC2086
    $SUDO apt-get install $apt_opts $missing </dev/null || { echo "deps: apt-get install failed" >&2; exit 1; }
fi
