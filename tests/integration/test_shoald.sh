#!/bin/bash
# shoald's life cycle: starts on free ports (port 0) and publishes them,
# answers /healthz /readyz /metrics on the admin port, keeps its node id
# across restarts (also after SIGKILL), stops cleanly on SIGTERM and SIGINT,
# and refuses to start with a clear error when its port is taken.
. "$(dirname "$0")/lib.sh"

D=$T_TMP/node
min_config "$D" "$T_TMP/c.yaml"

start_shoald n1 "$T_TMP/c.yaml"
check "shoald starts and writes its ports file" 0 $?
check_match "admin address published" '^127\.0\.0\.1:[0-9]+$' "$SHOALD_ADMIN"
check "GET /healthz" "200 ok" "$(curl -s -w '%{http_code} ' -o "$T_TMP/b" "http://$SHOALD_ADMIN/healthz"; cat "$T_TMP/b" | tr -d '\n')"
check "GET /readyz" "200" "$(curl -s -o /dev/null -w '%{http_code}' "http://$SHOALD_ADMIN/readyz")"
curl -s "http://$SHOALD_ADMIN/metrics" >"$T_TMP/metrics"
for m in shoal_cache_hits_total shoal_cache_misses_total shoal_bytes_served_from_cache_total \
    shoal_bytes_served_from_s3_total shoal_fills_deduplicated_total 'shoal_gateway_requests_total{op="get"}' \
    'shoal_gateway_request_seconds_bucket{op="get",le="+Inf"}'; do
    check "metrics has $m" yes "$(grep -qF "$m" "$T_TMP/metrics" && echo yes || echo no)"
done
# docs/metrics.md lists exactly the metric families a node exposes
grep '^# TYPE ' "$T_TMP/metrics" | awk '{print $3}' | sort >"$T_TMP/families"
sed -n 's/^| `\(shoal_[a-z0-9_]*\)` |.*/\1/p' "$ROOT/docs/metrics.md" | sort >"$T_TMP/documented"
check "docs/metrics.md lists every metric family, and only those" "" \
    "$(diff "$T_TMP/families" "$T_TMP/documented" | grep '^[<>]' | tr '\n' ' ')"
check "metrics is Prometheus text (TYPE lines)" yes "$(grep -q '^# TYPE shoal_cache_hits_total counter$' "$T_TMP/metrics" && echo yes || echo no)"
check "unknown admin path is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://$SHOALD_ADMIN/nope")"
check "POST to an admin path other than /v1/drain refused (405)" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$SHOALD_ADMIN/healthz")"
check "PUT to admin refused (501, libevent)" 501 "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://$SHOALD_ADMIN/healthz")"
check "GET /v1/drain refused (405: a drain is a POST)" 405 "$(curl -s -o /dev/null -w '%{http_code}' "http://$SHOALD_ADMIN/v1/drain")"
id1=$(cat "$D/data/node.id")
check_match "node id persisted (32 hex)" '^[0-9a-f]{32}$' "$id1"
stop_shoald "$SHOALD_PID" TERM
check "SIGTERM: clean exit 0" 0 "$STOP_STATUS"
check "log mentions the stop" yes "$(grep -q 'serve: stopped' "$T_TMP/n1.log" && echo yes || echo no)"

start_shoald n1 "$T_TMP/c.yaml"
check "restarts" 0 $?
check "same node id after restart" "$id1" "$(cat "$D/data/node.id")"
stop_shoald "$SHOALD_PID" KILL
check "SIGKILL" 137 "$STOP_STATUS"
start_shoald n1 "$T_TMP/c.yaml"
check "restarts after SIGKILL" 0 $?
check "same node id after SIGKILL" "$id1" "$(cat "$D/data/node.id")"
ADMIN=$SHOALD_ADMIN
PID1=$SHOALD_PID

# a second node on the same admin port fails clearly
sed -e "s#$D/data#$D/data2#" -e "s#admin: 127.0.0.1:0#admin: $ADMIN#" "$T_TMP/c.yaml" >"$T_TMP/c2.yaml"
"$BUILD/shoald" -c "$T_TMP/c2.yaml" >"$T_TMP/n2.log" 2>&1
check "port in use: exit 1" 1 $?
check_match "port in use: says which address" "cannot listen addr=$ADMIN" "$(cat "$T_TMP/n2.log")"
stop_shoald "$PID1" INT
check "SIGINT: clean exit 0" 0 "$STOP_STATUS"

# /readyz waits for the join: seeds that do not answer keep it 503 for the
# 10 s grace, then it is ready (the first node of a cluster must be)
dead=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s#$D/data#$D/data3#" "$T_TMP/c.yaml" >"$T_TMP/c3.yaml"
printf 'cluster:\n  seeds: [127.0.0.1:%s]\n' "$dead" >>"$T_TMP/c3.yaml"
start_shoald n3 "$T_TMP/c3.yaml"
t0=$(date +%s)
check "seeds that do not answer: /readyz 503 joining" "503 joining" \
    "$(curl -s -w '%{http_code}' -o "$T_TMP/rz" "http://$SHOALD_ADMIN/readyz") $(cat "$T_TMP/rz")"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$SHOALD_ADMIN/readyz")" = 200 ] || [ $(($(date +%s) - t0)) -gt 20 ]; do sleep 0.2; done
t=$(($(date +%s) - t0))
check "... ready after the 10 s grace" 1 "$([ "$t" -ge 8 ] && [ "$t" -le 13 ] && echo 1 || echo 0)"
stop_shoald "$SHOALD_PID" TERM

# POST /v1/drain: a node alone has nobody to hand blocks to: it leaves and exits 0
start_shoald n1 "$T_TMP/c.yaml"
check "drain: answered 202" 202 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$SHOALD_ADMIN/v1/drain")"
for i in $(seq 100); do kill -0 "$SHOALD_PID" 2>/dev/null || break; sleep 0.1; done
check "drain: the node exits by itself" 1 "$(kill -0 "$SHOALD_PID" 2>/dev/null; echo $?)"
wait "$SHOALD_PID"
check "drain: exit 0" 0 $?
check "drain: logged why" yes "$(grep -q 'draining why=admin' "$T_TMP/n1.log" && echo yes || echo no)"
finish
