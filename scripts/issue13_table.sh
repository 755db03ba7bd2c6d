#!/bin/bash
# Issue 13's opening table, measured again: every genre on the bundled model and the three
# fixtures (rendered, for the silence and loudness rows), both prompt styles on the models
# with a tokenizer, then one markdown table (scripts/issue13_table.py) with the threshold,
# the value per model and pass/fail.
#
#   scripts/issue13_table.sh SONIFY_BIN OUT_DIR        (SONIFY_FIXTURES must point at the fixtures)
#   scripts/issue13_table.sh --table OUT_DIR            only print the table of an earlier run
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
if [ "${1:-}" = "--table" ]; then
  exec /usr/bin/python3 "$here/issue13_table.py" "$2"
fi
bin=$1
out=$2
fx=${SONIFY_FIXTURES:?set SONIFY_FIXTURES to the fixtures directory}
declare -A models=([tiny]="$root/data/models/sonify-tiny" [TS]="$fx/models/TinyStories-656K"
  [g2]="$fx/models/tiny-gpt2-random" [g3]="$fx/models/tiny-gemma3-random")
mkdir -p "$out"
for label in tiny TS g2 g3; do
  for genre in acid house opera suite; do
    [ -f "$out/$label/$genre.wav" ] || "$bin" weights --model "${models[$label]}" --genre "$genre" -o "$out/$label" -q
  done
done
# Prompt styles need a tokenizer: the bundled model and TinyStories.
for label in tiny TS; do
  for style in voices markov; do
    [ -f "$out/$label-$style/manifest.json" ] ||
      "$bin" album "$root/configs/albums/small-stories.jsonl" --model "${models[$label]}" --style "$style" \
        --direction "$root/configs/contrast/calm-tense.json" --pca-sentences 128 --midi-only -j 2 \
        -o "$out/$label-$style" >/dev/null
  done
done
exec /usr/bin/python3 "$here/issue13_table.py" "$out"
