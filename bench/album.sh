#!/usr/bin/env bash
# Benchmark: `sonify album` on the example album (configs/albums/small-stories.jsonl)
# with -j 1 against -j 2, in the same session, both with a warm PCA/direction cache.
# Prints tracks per minute, the speed-up (target >= 1.7x on two cores) and where the
# time goes (forward passes + composition, which run one after another, versus rendering,
# which runs on -j threads), and checks that both runs wrote the same bytes.
# Usage: bench/album.sh [BUILD_DIR] [MODEL] [RUNS]   (default build/release, the bundled
# model, 1 run each; build first)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
MODEL=${2:-$ROOT/data/models/sonify-tiny}
RUNS=${3:-1}
SONIFY=$BUILD/tools/sonify/sonify
LIST=$ROOT/configs/albums/small-stories.jsonl
OUT=$BUILD/bench/album
rm -rf "$OUT"; mkdir -p "$OUT"
export XDG_CACHE_HOME=$OUT/cache
TRACKS=$(grep -c '^{' "$LIST")

timed() {  # prints "wall cpu" seconds of a command
  /usr/bin/time -f '%e %U %S' -o "$OUT/time.txt" "$@" >/dev/null 2>"$OUT/stderr.txt" || true
  awk '{ printf "%s %.2f", $1, $2 + $3 }' "$OUT/time.txt"
}
echo "load before: $(uptime)" >&2
# Warm the caches (weight analysis, reference PCA, contrast direction) once.
warm=$(timed "$SONIFY" album "$LIST" --model "$MODEL" -o "$OUT/warm" --midi-only)
echo "cache warm-up + MIDI-only album (forward + compose only): $warm (wall cpu, s)" >&2
midi=$(timed "$SONIFY" album "$LIST" --model "$MODEL" -o "$OUT/midi" --midi-only)
j1=(); j2=()
for i in $(seq "$RUNS"); do
  rm -rf "$OUT/j1" "$OUT/j2"
  j1+=("$(timed "$SONIFY" album "$LIST" --model "$MODEL" -o "$OUT/j1" -j 1)")
  j2+=("$(timed "$SONIFY" album "$LIST" --model "$MODEL" -o "$OUT/j2" -j 2)")
  echo "run $i (wall cpu, s): -j 1 ${j1[-1]}, -j 2 ${j2[-1]}" >&2
done
echo "load after: $(uptime)" >&2
same=yes
for f in "$OUT"/j1/*; do cmp -s "$f" "$OUT/j2/$(basename "$f")" || { same=no; echo "differs: $(basename "$f")" >&2; }; done
best() { printf '%s\n' "$@" | awk '{ print $1 }' | sort -g | head -1; }
b1=$(best "${j1[@]}"); b2=$(best "${j2[@]}"); m=$(echo "$midi" | awk '{ print $1 }')
awk -v t="$TRACKS" -v a="$b1" -v b="$b2" -v m="$m" -v same="$same" 'BEGIN {
  printf "tracks: %d\n", t
  printf "-j 1: %.2f s wall, %.1f tracks/min\n", a, 60 * t / a
  printf "-j 2: %.2f s wall, %.1f tracks/min\n", b, 60 * t / b
  printf "speed-up -j 2 / -j 1: %.2fx (target >= 1.7x)\n", a / b
  printf "forward + compose + MIDI (sequential part): %.2f s = %.0f%% of the -j 1 run\n", m, 100 * m / a
  printf "identical outputs (-j 1 vs -j 2): %s\n", same
}'
