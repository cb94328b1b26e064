#!/usr/bin/env bash
# tests/integration/test_cluster_data.sh: three shoald nodes on 127.0.0.1-3
# are one cache over the test S3 server (R=2, 1 MiB blocks, sealed and
# authenticated with a key from `shoal keygen`): any node serves any object,
# identical to S3; 64 concurrent readers over the 3 nodes read each cold
# block from S3 once (counted in the S3 server's own log); blocks end on
# exactly their owners; a node that owns no copy serves from the owners
# without S3; writes through one node (PUT, overwrite, copy, multipart,
# deletes) are read through the others at once, their blocks on their
# owners; an owner killed with SIGKILL mid-read does not fail the read;
# the peer port gives nothing to a client without the key, and answers a
# stale epoch with the view (cluster_data_checks.py, peer_client.py).
# With CLUSTER_TLS=1 (test_cluster_tls.sh) the nodes run cluster.tls: the
# same phases over TLS, and the tls phase in place of auth.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

s3_cluster_setup
"$BUILD/shoal" keygen >"$T_TMP/other.key"
for n in 1 2 3; do PEER_PORT[$n]=$(free_port 127.0.0.$n); done
SEEDS="127.0.0.1:${PEER_PORT[1]}, 127.0.0.2:${PEER_PORT[2]}"
# hot_copy_after 0: the read phase counts each block's copies, and 64
# readers of one object would make its blocks hot (hot copies are tested in
# test_cluster_churn.sh, with the default)
for n in 1 2 3; do
    node_config $n "$SEEDS" "  replication: 2
  block_size: 1MiB
  hot_copy_after: 0$([ "${CLUSTER_TLS:-0}" = 1 ] && printf '\n  tls: true')"
done
for n in 1 2 3; do start_node $n || finish; done
wait_states 15 "n1=alive n2=alive n3=alive" 1 2 3
check "3 nodes see each other alive" 0 $?

export GWS="${NODE_S3[1]} ${NODE_S3[2]} ${NODE_S3[3]}"
export ADMINS="${NODE_ADMIN[1]} ${NODE_ADMIN[2]} ${NODE_ADMIN[3]}"
export PEERS="127.0.0.1:${PEER_PORT[1]} 127.0.0.2:${PEER_PORT[2]} 127.0.0.3:${PEER_PORT[3]}"
export PROXY_LOG=$T_TMP/s3/log/proxy.log BLOCK_SIZE KEY_FILE OTHER_KEY_FILE=$T_TMP/other.key
export CLUSTER_NAME=itest
run_checks cluster_data_checks.py read
run_checks cluster_data_checks.py write
if [ "${CLUSTER_TLS:-0}" = 1 ]; then
    run_checks cluster_data_checks.py tls
else
    run_checks cluster_data_checks.py auth
fi
VICTIM_PID=${NODE_PID[3]} run_checks cluster_data_checks.py kill
wait "${NODE_PID[3]}" 2>/dev/null
for n in 1 2; do
    check "n$n still runs after n3's kill" 0 "$(kill -0 "${NODE_PID[$n]}" 2>/dev/null; echo $?)"
done
finish
