#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and turn the bundled default model's
# weights into an acid track (`sonify weights --genre acid`): out/demo/acid.{wav,mid,json}.
# Without the bundled model (data/models/sonify-tiny) it uses a synthetic
# GPT-2-small-shaped checkpoint that it writes once under build/demo/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/common.sh"

ensure_packages "${SONIFY_PACKAGES[@]}"
build_preset release
SONIFY="$ROOT/build/release/tools/sonify/sonify"

"$SONIFY" doctor
echo
model_args=()
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
  model_args=(--model "$model")
fi
echo
out="$ROOT/out/demo"
"$SONIFY" weights "${model_args[@]}" --genre acid -o "$out"
echo
echo "Listen: $out/acid.wav   (MIDI: $out/acid.mid, how it was made: $out/acid.json)"
echo "Other genres: $SONIFY genres; e.g. $SONIFY weights --genre house -o $out"
