#!/usr/bin/env bash
# Renders every genre for the bundled model (data/models/sonify-tiny, or --model PATH)
# into samples/: samples/GENRE.{mid,wav,json}. What a CI job that regenerates the samples
# calls. WAVs are not committed (samples/.gitignore); samples/README.md says how to make them.
# Usage: scripts/regenerate_samples.sh [--model PATH] [BUILD_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model_args=()
if [ "${1:-}" = "--model" ]; then
  model_args=(--model "$2")
  shift 2
fi
BUILD=${1:-$ROOT/build/release}
SONIFY=$BUILD/tools/sonify/sonify
if [ ! -x "$SONIFY" ]; then
  echo "regenerate_samples: no sonify at $SONIFY (build first: cmake --preset release && cmake --build build/release)" >&2
  exit 1
fi
if [ ${#model_args[@]} -eq 0 ] && [ ! -d "$ROOT/data/models/sonify-tiny" ]; then
  echo "regenerate_samples: the bundled model data/models/sonify-tiny is missing (or pass --model PATH)" >&2
  exit 1
fi
mkdir -p "$ROOT/samples"
for genre in $("$SONIFY" genres | awk 'NF && $1 != "sonify" {print $1}'); do
  echo "== $genre"
  "$SONIFY" weights "${model_args[@]}" --genre "$genre" -o "$ROOT/samples"
done
