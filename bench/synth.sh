#!/usr/bin/env bash
# Benchmark (issue 16): the direct styles' synthesis speed and the live monitor's latency.
# 1. prompt --style thinking|operatic|sines on a 128-token prompt through the bundled 4-layer
#    model, pinned to one core (taskset -c 0, --threads 1). Target: >= 50x real time, i.e.
#    audio seconds / CPU seconds >= 50. Reported for the whole command and for the synthesis
#    alone (CPU minus a `trace` of the same prompt in the same run: opening libtorch, the model
#    and the forward pass).
# 2. generate --monitor: per token, the time from its logits to its audio block being written
#    and flushed (the record's .timing.json), with and without --direction.
# Usage: bench/synth.sh [BUILD_DIR] [RUNS]   (default build/release, 3; build first)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
RUNS=${2:-3}
SONIFY=$BUILD/tools/sonify/sonify
MODEL=$ROOT/data/models/sonify-tiny
PAIRS=$ROOT/configs/contrast/calm-tense.json
OUT=$BUILD/bench/synth
mkdir -p "$OUT"
TEXT="Once upon a time, in a small village by the sea, there lived an old fisherman and his dog. \
Every morning they walked to the harbour, and every evening they came home with a basket of fish. \
One day a storm came over the hills, the boats stayed in the harbour, and the children watched the \
waves from the window of the school while the teacher told them stories about the sailors of long ago."
IDS=$("$SONIFY" tokenize "$TEXT" -m "$MODEL" --truncate --json | /usr/bin/python3 -c \
  'import json,sys; ids=json.load(sys.stdin)["ids"]; assert len(ids) == 128, len(ids); print(",".join(map(str, ids)))')

# "wall cpu" seconds of a command on core 0 (cpu = user + system).
timed() {
  /usr/bin/time -f '%e %U %S' -o "$OUT/time.txt" taskset -c 0 "$@" >/dev/null 2>&1
  awk '{ printf "%s %.3f", $1, $2 + $3 }' "$OUT/time.txt"
}
echo "blas: $("$SONIFY" doctor 2>&1 | grep -E '^(blas|libtorch)' | tr -s ' ' | paste -sd ';')"
echo "load before: $(uptime)"
for i in $(seq "$RUNS"); do
  base=$(timed "$SONIFY" trace --ids "$IDS" -m "$MODEL" --threads 1 --capture embed,resid -o "$OUT/t.safetensors")
  line="run $i: trace (wall cpu) $base"
  for style in thinking operatic sines; do
    t=$(timed "$SONIFY" prompt --ids "$IDS" -m "$MODEL" --threads 1 --style "$style" -o "$OUT" --name "$style")
    audio=$(/usr/bin/python3 -c "import json; print(json.load(open('$OUT/$style.json'))['render']['seconds'])")
    line+=$(awk -v t="$t" -v b="$base" -v a="$audio" -v s="$style" 'BEGIN {
      split(t, x, " "); split(b, y, " "); synth = x[2] - y[2]; if (synth < 0.001) synth = 0.001;
      printf "; %s %.1f s audio, cpu %.2f s (%.0fx), synthesis %.2f s (%.0fx)", s, a, x[2], a / x[2], synth, a / synth }')
  done
  echo "$line"
done
for dir in "" "--direction $PAIRS"; do
  # shellcheck disable=SC2086
  taskset -c 0 "$SONIFY" generate "Once upon a time" -m "$MODEL" -n 100 --no-stop --threads 1 \
    --monitor "$OUT/monitor.wav" $dir >/dev/null 2>&1
  /usr/bin/python3 - "$OUT/monitor.timing.json" "${dir:+with --direction}" <<'PY'
import json, statistics, sys
t = json.load(open(sys.argv[1]))["tokens"]
lat = sorted(x["latency_ms"] for x in t)
gaps = [b["logits_at"] - a["logits_at"] for a, b in zip(t, t[1:])]
print(f"monitor {sys.argv[2] or 'surprisal score'}: {len(t)} tokens, latency logits -> block written "
      f"median {statistics.median(lat):.2f} ms, p90 {lat[int(0.9 * len(lat))]:.2f} ms, max {lat[-1]:.2f} ms; "
      f"{1000 * statistics.mean(gaps):.1f} ms between tokens (0.2 s of audio each)")
PY
done
echo "load after: $(uptime)"
