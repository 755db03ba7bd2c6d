#!/bin/sh
# ctest "fuzz corpus replay": unpacks a harness's minimised corpus (fuzz/corpus/HARNESS.tar.gz,
# when there is one) and replays it, with the seeds and the regressions, through the harness
# built without libFuzzer. Usage: replay.sh REPLAY_BINARY CORPUS.tar.gz [DIR...]
set -eu
bin=$1 tarball=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -f "$tarball" ]; then tar -xzf "$tarball" -C "$tmp"; fi
"$bin" "$tmp" "$@"
