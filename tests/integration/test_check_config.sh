#!/bin/bash
# tests/integration/test_check_config.sh: the shoald command line, run for
# real: --check-config on a good and a bad file, --help, --version,
# --print-config-doc and usage errors. Starts no daemon (serve mode is a
# placeholder); prints "N passed, N failed" as its last line. lib.sh's
# finish fails on a sanitizer report from any of the runs.
#
#   SHOAL_BUILD=build bash tests/integration/test_check_config.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 2
SHOALD=$BUILD/shoald
TMP=$T_TMP

ok() { T_PASS=$((T_PASS + 1)); echo "ok   $1"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL $1"; shift; printf '    %s\n' "$@"; }

# run NAME ARGS...: run shoald, keeping exit code, stdout and stderr
run() {
    local name=$1
    shift
    "$SHOALD" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
    echo $? >"$TMP/$name.rc"
}

# expect NAME RC: the exit code of run NAME
expect_rc() {
    local got
    got=$(cat "$TMP/$1.rc")
    if [ "$got" = "$2" ]; then ok "$1: exit $2"; else fail "$1: exit $2" "got exit $got" "$(cat "$TMP/$1.err")"; fi
}

# expect_line NAME out|err TEXT: a line of the output equal to TEXT
expect_line() {
    if grep -qxF -- "$3" "$TMP/$1.$2"; then
        ok "$1: $2 has \"$3\""
    else
        fail "$1: $2 has \"$3\"" "$(head -n 20 "$TMP/$1.$2")"
    fi
}

if [ ! -x "$SHOALD" ]; then
    fail "shoald built at $SHOALD"
    finish
fi

cat >"$TMP/good.yaml" <<'YAML'
node:
  data_dir: /var/lib/shoal
listen:
  peer: 127.0.0.1:0
  s3: 127.0.0.1:0
  admin: 127.0.0.1:0
mounts:
  - name: lakehouse
    ufs: s3://acme-lakehouse/warehouse/
tenants:
  - name: trino
    access_key: TRINOKEY01
    secret_env: TRINO_SECRET
    allow:
      - mount: lakehouse
YAML

cat >"$TMP/bad.yaml" <<'YAML'
node:
  data_dir: /var/lib/shoal
  wieght: 4
listen:
  s3: :7400
cluster:
  block_size: 3MiB
  drain_timeout: 90
mounts:
  - name: Lake_House
    ufs: s3:/lake
YAML

# a good file: "config ok" on stdout, exit 0
run good --check-config -c "$TMP/good.yaml"
expect_rc good 0
expect_line good out "config ok"

# the long option form and --config=FILE
run good_long --config="$TMP/good.yaml" --check-config
expect_rc good_long 0
expect_line good_long out "config ok"

# without tenants: still valid, with a warning about anonymous access
grep -v -e '^tenants:' -e '^  - name: trino' -e 'TRINO' -e '^    allow:' -e '^      - mount' \
    "$TMP/good.yaml" >"$TMP/anon.yaml"
run anon --check-config -c "$TMP/anon.yaml"
expect_rc anon 0
if grep -q "no tenants: the S3 gateway allows anonymous access" "$TMP/anon.err"; then
    ok "anon: warns about anonymous access"
else
    fail "anon: warns about anonymous access" "$(cat "$TMP/anon.err")"
fi

# a bad file: every error on stderr as FILE:LINE: KEY: message, exit 1
run bad --check-config -c "$TMP/bad.yaml"
expect_rc bad 1
B="$TMP/bad.yaml"
expect_line bad err "$B:3: node.wieght: unknown key (did you mean \"weight\"?)"
expect_line bad err "$B:5: listen.s3: port 7400 is also used by listen.peer"
expect_line bad err "$B:7: cluster.block_size: 3MiB is not a power of two"
expect_line bad err "$B:8: cluster.drain_timeout: invalid duration \"90\": missing unit (ms, s, m, h or d, e.g. 90s)"
expect_line bad err "$B:10: mounts[0].name: invalid bucket name \"Lake_House\": use lowercase letters, digits, '-' and '.' (or \"*\" to pass every bucket through)"
expect_line bad err "$B:11: mounts[0].ufs: invalid ufs \"s3:/lake\": expected s3://BUCKET/PREFIX/, s3://BUCKET or file:///DIR"
expect_line bad err "shoald: $B: 6 errors"
n=$(grep -c "^$B:[0-9]*: " "$TMP/bad.err")
if [ "$n" = 6 ]; then ok "bad: 6 error lines"; else fail "bad: 6 error lines" "got $n"; fi
if [ ! -s "$TMP/bad.out" ]; then ok "bad: nothing on stdout"; else fail "bad: nothing on stdout" "$(cat "$TMP/bad.out")"; fi

# the checked-in file with 25 errors
run many --check-config -c tests/unit/configs/many_errors.yaml
expect_rc many 1
expect_line many err "shoald: tests/unit/configs/many_errors.yaml: 25 errors"

# cluster.tls with no secret key to derive its PSK from
cat >"$TMP/tls.yaml" <<'YAML'
node:
  data_dir: /var/lib/shoal
cluster:
  name: c1
  tls: true
mounts:
  - name: lakehouse
    ufs: s3://acme-lakehouse/warehouse/
YAML
run tls --check-config -c "$TMP/tls.yaml"
expect_rc tls 1
expect_line tls err "$TMP/tls.yaml:5: cluster.tls: needs cluster.secret_file: without it the key is derived from cluster.name, which is no secret"

# a file that cannot be opened
run missing --check-config -c "$TMP/nope.yaml"
expect_rc missing 1
expect_line missing err "$TMP/nope.yaml: cannot open: No such file or directory"

# serve mode checks the configuration too: an invalid one never starts
# (serving itself is covered by test_shoald.sh)
run serve -c "$TMP/bad.yaml"
expect_rc serve 1
if [ "$(grep -c "^$TMP/bad.yaml:" "$TMP/serve.err")" = 6 ]; then ok "serve: bad config, 6 error lines"; else fail "serve: bad config, 6 error lines" "$(cat "$TMP/serve.err")"; fi

# --help and --version
run help --help
expect_rc help 0
if grep -q "^usage: shoald " "$TMP/help.out"; then ok "help: usage on stdout"; else fail "help: usage on stdout" "$(cat "$TMP/help.out")"; fi
run help_short -h
expect_rc help_short 0
run version --version
expect_rc version 0
if grep -qE '^shoald [0-9]' "$TMP/version.out"; then ok "version: printed"; else fail "version: printed" "$(cat "$TMP/version.out")"; fi

# --print-config-doc is docs/config.md
run doc --print-config-doc
expect_rc doc 0
if cmp -s "$TMP/doc.out" docs/config.md; then ok "doc: equals docs/config.md"; else fail "doc: equals docs/config.md"; fi

# usage errors: exit 2 and a one-line hint
run badopt --bogus
expect_rc badopt 2
expect_line badopt err "shoald: unknown option '--bogus' (try 'shoald --help')"
run badshort -x
expect_rc badshort 2
expect_line badshort err "shoald: unknown option '-x' (try 'shoald --help')"
run noarg -c
expect_rc noarg 2
expect_line noarg err "shoald: option needs an argument: '-c' (try 'shoald --help')"
run extra --check-config -c "$TMP/good.yaml" stray
expect_rc extra 2
expect_line extra err "shoald: unexpected argument 'stray' (try 'shoald --help')"
n=$(wc -l <"$TMP/badopt.err")
if [ "$n" = 1 ]; then ok "badopt: one line"; else fail "badopt: one line" "got $n lines"; fi

finish
