#!/usr/bin/env bash
# The samples: every genre of `sonify weights` on the bundled model (data/models/sonify-tiny,
# or --model PATH), and samples/manifest.json recording for each its command, the model's
# SHA-256, the SHA-256 of the MIDI and the WAV, duration, loudness and notes per track.
# The MIDIs and the manifest are committed; the WAVs are not (samples/.gitignore).
#
#   scripts/regenerate_samples.sh             render into samples/ (manifest untouched)
#   scripts/regenerate_samples.sh --update    render into samples/ and rewrite the manifest
#   scripts/regenerate_samples.sh --check     render into a temporary directory and compare:
#       exit 1 with a readable diff (which sample, which track, how many notes changed,
#       loudness change) when the music changed; what CI runs (.github/workflows/samples.yml)
#   --only GENRE (repeatable) limits the run to some genres; --out DIR keeps --check's files.
# Usage: scripts/regenerate_samples.sh [--check|--update] [--only GENRE]... [--model PATH] [--out DIR] [BUILD_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=render
model_args=()
only=()
keep_out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --check | --update) mode=${1#--}; shift ;;
    --model) model_args=(--model "$2"); shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --out) keep_out=$2; shift 2 ;;
    -*) echo "regenerate_samples: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
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
if [ "$mode" = update ] && [ ${#only[@]} -gt 0 ]; then
  echo "regenerate_samples: --update rewrites the whole manifest: run it without --only" >&2
  exit 2
fi
MANIFEST=$ROOT/samples/manifest.json
if [ "$mode" = check ] && [ ! -f "$MANIFEST" ]; then
  echo "regenerate_samples: no $MANIFEST to check against (run --update once and commit it)" >&2
  exit 1
fi
genres=("${only[@]}")
[ ${#genres[@]} -gt 0 ] || mapfile -t genres < <("$SONIFY" genres | awk 'NF && $1 != "sonify" {print $1}')
OUT=$ROOT/samples
if [ "$mode" = check ]; then
  OUT=${keep_out:-$(mktemp -d)}
  [ -n "$keep_out" ] || trap 'rm -rf "$OUT"' EXIT
  mkdir -p "$OUT"
fi
mkdir -p "$OUT"
specs=()
for genre in "${genres[@]}"; do
  echo "== $genre" >&2
  "$SONIFY" weights "${model_args[@]}" --genre "$genre" -o "$OUT" >/dev/null
  specs+=("$genre=sonify weights ${model_args[*]:+${model_args[*]} }--genre $genre")
done
case "$mode" in
  check) /usr/bin/python3 "$ROOT/scripts/samples_manifest.py" check "$MANIFEST" "$ROOT/samples" "$OUT" ;;
  update)
    /usr/bin/python3 "$ROOT/scripts/samples_manifest.py" write "$OUT" "${specs[@]}" >"$MANIFEST.tmp"
    mv "$MANIFEST.tmp" "$MANIFEST"
    echo "wrote $MANIFEST (${#specs[@]} samples); commit it with samples/*.mid" >&2
    ;;
esac
