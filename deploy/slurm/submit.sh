#!/usr/bin/env bash
# Submits a whole sharded album to Slurm: prepare (once) → N shard tasks, at most K at a
# time → merge, each step starting only when the one before succeeded.
# Usage: deploy/slurm/submit.sh LIST OUT N [K] [-- extra sonify album options]
set -euo pipefail
list=$(realpath "$1") out=$(realpath -m "$2") n=$3 k=${4:-$3}
shift $(($# >= 4 ? 4 : 3))
[ "${1:-}" = "--" ] && shift
args="$*"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SONIFY_LIST=$list SONIFY_OUT=$out SONIFY_SHARDS=$n SONIFY_ARGS=$args
export XDG_CACHE_HOME=${SONIFY_CACHE:-$out/.cache}
mkdir -p "$out"
prep=$(sbatch --parsable --export=ALL --job-name=sonify-prepare \
  --wrap "${SONIFY:-sonify} album prepare '$list' -o '$out' $args")
shards=$(sbatch --parsable --export=ALL --dependency=afterok:$prep --array=0-$((n - 1))%$k "$here/album.sbatch")
merge=$(sbatch --parsable --export=ALL --dependency=afterok:$shards --job-name=sonify-merge \
  --wrap "${SONIFY:-sonify} album merge '$out'")
echo "prepare $prep, shards $shards (array 0-$((n - 1))%$k), merge $merge"
