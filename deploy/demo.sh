#!/bin/bash
# deploy/demo.sh BUILD: the README's demo (`make demo`).
#
# This version shows the placement every node and client computes: the ring
# for a small cluster and for a larger hypothetical one, with the figures
# `shoal ring simulate` reports. The single node in front of S3 (write
# through, read back from the cache) joins the demo with the gateway.
set -euo pipefail
BUILD=${1:-build}
S=$BUILD/shoal
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "A 5-node cluster over 3 zones, 3 replicas per block: placement figures"
"$S" ring simulate --nodes 5 --zones 3 --replicas 3
say "A 100-node cluster, half the nodes twice the weight (bigger disks)"
"$S" ring simulate --nodes 100 --zones 3 --replicas 2 --weights 1,2 --blocks 2000000
say "The same as JSON, for scripts"
"$S" ring simulate --nodes 10 --blocks 200000 --json
echo
echo "demo: done (nothing left running)"
