#!/usr/bin/env bash
# Benchmark (issue 16): the direct styles' synthesis speed and the live monitor's latency.
# 1. prompt --style thinking|operatic|sines on a 128-token prompt through the bundled 4-layer
#    model, pinned to one core (taskset -c 0, --threads 1). Target: >= 50x real time, i.e.
#    audio seconds / CPU seconds >= 50. Reported per style:
#    - the whole command;
#    - synthesis = prompt CPU minus a `trace` of the same ids (opening libtorch, the model and
#      the forward pass), each the least of RUNS runs (the machine is shared: the least is the
#      run least disturbed); this still counts mastering, the WAV and the JSON;
#    - per track = (CPU of an album of 6 copies of the prompt - CPU of an album of 1) / 5:
#      startup paid once, so this is a track's forward pass + synthesis + mastering + files +
#      its share of album.wav and the manifest's sha256, an upper bound on synthesis.
#    With BASELINE (another sonify binary, e.g. main's), the same figures for it in the same
#    run, and the ratio of the synthesis CPU (baseline / this build).
# 2. generate --monitor: per token, the time from its logits to its audio block being written
#    and flushed (the record's .timing.json), with and without --direction; with BASELINE, the
#    same for it. With --direction the latency includes the KV-cached step that appends the
#    token (its hidden states give the score; before issue 16's session 16, a forward pass
#    over the whole sequence per token).
# Usage: bench/synth.sh [BUILD_DIR] [RUNS] [BASELINE_SONIFY]   (default build/release, 3; build first)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
RUNS=${2:-3}
BASELINE=${3:-}
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
printf '%s\n' "$TEXT" >"$OUT/one.txt"
for _ in 1 2 3 4 5 6; do printf '%s\n' "$TEXT"; done >"$OUT/six.txt"

# CPU seconds (user + system) of a command on core 0.
cpu() {
  /usr/bin/time -f '%U %S' -o "$OUT/time.txt" taskset -c 0 "$@" >/dev/null 2>&1
  awk '{ printf "%.3f", $1 + $2 }' "$OUT/time.txt"
}
# The least CPU of RUNS runs of a command.
least() {
  local best="" t
  for _ in $(seq "$RUNS"); do
    t=$(cpu "$@")
    best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  echo "$best"
}
# bench SONIFY LABEL: one line per style, and "LABEL STYLE synthesis" lines in $OUT/synth.txt.
bench() {
  local bin=$1 label=$2 base style t audio one six
  base=$(least "$bin" trace --ids "$IDS" -m "$MODEL" --threads 1 --capture embed,resid -o "$OUT/t.safetensors")
  echo "$label: trace (least CPU of $RUNS) $base s"
  for style in thinking operatic sines; do
    t=$(least "$bin" prompt --ids "$IDS" -m "$MODEL" --threads 1 --style "$style" -o "$OUT/$label" --name "$style")
    audio=$(/usr/bin/python3 -c "import json; print(json.load(open('$OUT/$label/$style.json'))['render']['seconds'])")
    rm -rf "$OUT/$label-album1" "$OUT/$label-album6"
    one=$(cpu "$bin" album "$OUT/one.txt" -m "$MODEL" --style "$style" --truncate --threads 1 -o "$OUT/$label-album1")
    six=$(cpu "$bin" album "$OUT/six.txt" -m "$MODEL" --style "$style" --truncate --threads 1 -o "$OUT/$label-album6")
    awk -v t="$t" -v b="$base" -v a="$audio" -v s="$style" -v o="$one" -v x="$six" -v l="$label" -v f="$OUT/synth.txt" 'BEGIN {
      synth = t - b; track = (x - o) / 5
      # below 10 ms the difference of two ~1-s processes is noise on a shared machine
      sx = synth < 0.01 ? "below the noise" : sprintf("%.0fx", a / synth)
      tx = track < 0.01 ? "below the noise" : sprintf("%.0fx", a / track)
      printf "%s: %-8s %5.1f s audio | command %.2f s CPU (%.0fx) | synthesis %.3f s (%s) | per album track %.3f s (%s)\n",
        l, s, a, t, a / t, synth, sx, track, tx
      printf "%s %s %.4f %.4f\n", l, s, synth, track >> f }'
  done
}
echo "blas: $("$SONIFY" doctor 2>&1 | grep -E '^(blas|libtorch)' | tr -s ' ' | paste -sd ';')"
echo "load before: $(uptime)"
rm -f "$OUT/synth.txt"
bench "$SONIFY" build
if [ -n "$BASELINE" ]; then
  bench "$BASELINE" baseline
  awk '{ s[$1 " " $2] = $3; k[$1 " " $2] = $4 } END {
    for (st in s) if (st ~ /^build /) { n = substr(st, 7); b = "baseline " n
      if (b in s && s[st] >= 0.01 && k[st] >= 0.01)
        printf "ratio %-8s synthesis %.1fx faster, per album track %.1fx faster\n", n, s[b] / s[st], k[b] / k[st] } }' "$OUT/synth.txt"
fi
for bin in "$SONIFY" ${BASELINE:+"$BASELINE"}; do
  label=$([ "$bin" = "$SONIFY" ] && echo build || echo baseline)
  for dir in "" "--direction $PAIRS"; do
    # shellcheck disable=SC2086
    taskset -c 0 "$bin" generate "Once upon a time" -m "$MODEL" -n 100 --no-stop --threads 1 \
      --monitor "$OUT/monitor.wav" $dir >/dev/null 2>&1
    /usr/bin/python3 - "$OUT/monitor.timing.json" "$label: ${dir:+with --direction}" <<'PY'
import json, statistics, sys
t = json.load(open(sys.argv[1]))["tokens"]
lat = sorted(x["latency_ms"] for x in t)
gaps = [b["logits_at"] - a["logits_at"] for a, b in zip(t, t[1:])]
label = sys.argv[2] if not sys.argv[2].endswith(": ") else sys.argv[2] + "surprisal score"
print(f"monitor {label}: {len(t)} tokens, latency logits -> block written "
      f"median {statistics.median(lat):.2f} ms, p90 {lat[int(0.9 * len(lat))]:.2f} ms, max {lat[-1]:.2f} ms; "
      f"{1000 * statistics.mean(gaps):.1f} ms between tokens (0.2 s of audio each)")
PY
  done
done
echo "load after: $(uptime)"
