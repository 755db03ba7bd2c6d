#!/usr/bin/env bash
# Benchmark: end-to-end `sonify weights --genre acid` on the synthetic Gemma-3-270M-shaped
# BF16 checkpoint, with a cold analysis cache (a fresh XDG_CACHE_HOME) and a warm one,
# reporting each stage's time from the run's JSON (analysis, sha256 of the weights,
# composition, rendering) and the wall time of the process. Target: with a warm cache,
# MIDI in < 1 s (the --midi-only wall time).
# Usage: bench/weights.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
SONIFY=$BUILD/tools/sonify/sonify
MODEL=$BUILD/bench/gemma3-270m-bf16
OUT=$BUILD/bench/weights
rm -rf "$OUT"
mkdir -p "$OUT/cache"

if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "writing the synthetic Gemma-3-270M BF16 checkpoint to $MODEL ..." >&2
  "$SONIFY" synth-checkpoint --arch "$ROOT/configs/architectures/gemma3-270m.json" --dtype BF16 --seed 1 -o "$MODEL" >/dev/null
fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$MODEL/model.safetensors" >/dev/null  # page cache warm for every run

run() {  # run NAME ARGS... : wall seconds into $OUT/NAME.wall, outputs into $OUT/NAME/
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  XDG_CACHE_HOME="$OUT/cache" "$SONIFY" weights --model "$MODEL" --genre acid -o "$OUT/$name" -q "$@"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" "BEGIN{print b - a}" > "$OUT/$name.wall"
}
run cold --midi-only
run warm --midi-only
run warm2 --midi-only
run render

cmp -s "$OUT/cold/acid.mid" "$OUT/warm/acid.mid" && same=yes || same=no
/usr/bin/python3 - "$OUT" "$same" <<'PY'
import json, sys
out, same = sys.argv[1], sys.argv[2]
def row(name):
    j = json.load(open(f"{out}/{name}/acid.json"))
    t = j["timings_seconds"]
    wall = float(open(f"{out}/{name}.wall").read())
    return j, t, wall
print(f"{'run':<8} {'cache':<6} {'analysis':>9} {'sha256':>8} {'compose':>8} {'render':>8} {'wall':>8}")
for name in ("cold", "warm", "warm2", "render"):
    j, t, wall = row(name)
    print(f"{name:<8} {'hit' if j['analysis_from_cache'] else 'miss':<6} {t['analysis']:9.3f} {t['hash']:8.3f} "
          f"{t['composition']:8.4f} {t['rendering']:8.3f} {wall:8.3f}")
_, _, cold = row("cold")
_, _, warm = row("warm")
_, _, warm2 = row("warm2")
best = min(warm, warm2)
j, t, _ = row("render")
print(f"audio: {j['length_seconds']:.1f} s rendered in {t['rendering']:.2f} s")
print(f"warm-cache MIDI wall time {best:.3f} s (target < 1 s: {'PASS' if best < 1 else 'FAIL'}); "
      f"cold/warm = {cold / best:.1f}x; cold and warm MIDI identical: {same}")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
