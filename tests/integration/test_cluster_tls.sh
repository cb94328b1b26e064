#!/usr/bin/env bash
# tests/integration/test_cluster_tls.sh: test_cluster_data.sh with
# cluster.tls on every node: the same reads, writes and kill over TLS 1.3
# with the cluster key's PSK, and the peer port refusing other keys and
# plaintext peers (cluster_data_checks.py tls).
CLUSTER_TLS=1 exec bash "$(dirname "$0")/test_cluster_data.sh" "$@"
