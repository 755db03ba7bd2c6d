#!/usr/bin/env bash
# One big machine, GNU parallel (Debian: parallel): N shards, K at a time, then merge.
# Usage: deploy/parallel.sh LIST OUT N K [extra sonify album options]
set -euo pipefail
list=$1 out=$2 n=$3 k=$4
shift 4
sonify album prepare "$list" -o "$out" "$@" &&
  seq 0 $((n - 1)) | parallel --halt now,fail=1 -j "$k" sonify album "$list" --shard {}/"$n" -o "$out" "$@" &&
  sonify album merge "$out"
