#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and run sonify on the bundled default
# model. Until the bundled model lands (data/models/sonify-tiny), it runs on a
# synthetic GPT-2-small-shaped checkpoint that it writes once under build/demo/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/common.sh"

ensure_packages "${SONIFY_PACKAGES[@]}"
build_preset release
SONIFY="$ROOT/build/release/tools/sonify/sonify"

"$SONIFY" doctor
echo
if [ -d "$ROOT/data/models/sonify-tiny" ]; then
  "$SONIFY" inspect
else
  model="$ROOT/build/demo/gpt2-small-synthetic"
  if [ ! -f "$model/model.safetensors" ]; then
    log "no bundled model yet: writing a synthetic GPT-2 small (BF16, seed 0) to $model"
    "$SONIFY" synth-checkpoint --arch "$ROOT/configs/architectures/gpt2-small.json" \
      --dtype BF16 --seed 0 -o "$model" >/dev/null
  fi
  "$SONIFY" inspect --model "$model"
fi
