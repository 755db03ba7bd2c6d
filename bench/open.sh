#!/usr/bin/env bash
# Benchmark: open and index the 536 MB BF16 Gemma-3-270M-shaped checkpoint before any
# tensor is read. Targets: < 0.3 s and < 50 MB resident. Baseline measured in the same
# run: Debian's Python reading and parsing the same safetensors header with json (what
# any safetensors loader must do at least). Prints figures; asserts nothing.
# Usage: bench/open.sh [BUILD_DIR]   (default build/release; run scripts/demo.sh first)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
SONIFY=$BUILD/tools/sonify/sonify
MODEL=$BUILD/bench/gemma3-270m-bf16
RUNS=7

if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "writing the synthetic Gemma-3-270M BF16 checkpoint to $MODEL ..." >&2
  start=$(date +%s%N)
  "$SONIFY" synth-checkpoint --arch "$ROOT/configs/architectures/gemma3-270m.json" --dtype BF16 --seed 1 -o "$MODEL" >/dev/null
  echo "  written in $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2
fi
# Drop nothing from the page cache: both sides read the same warm header.
results=()
for _ in $(seq $RUNS); do results+=("$("$BUILD/bench/bench_open" "$MODEL")"); done
baseline=()
for _ in $(seq $RUNS); do
  baseline+=("$(/usr/bin/python3 -c '
import json, struct, sys, time
t = time.perf_counter()
with open(sys.argv[1] + "/model.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    h = json.loads(f.read(n))
json.load(open(sys.argv[1] + "/config.json"))
print(time.perf_counter() - t)' "$MODEL")")
done
cli_start=$(date +%s%N)
"$SONIFY" inspect --model "$MODEL" --json >/dev/null
cli_ms=$(( ($(date +%s%N) - cli_start) / 1000000 ))

/usr/bin/python3 - "$RUNS" "$cli_ms" "${results[@]}" "${baseline[@]}" <<'PY'
import json, statistics, sys
runs, cli_ms = int(sys.argv[1]), int(sys.argv[2])
ours = [json.loads(x) for x in sys.argv[3:3 + runs]]
base = [float(x) for x in sys.argv[3 + runs:3 + 2 * runs]]
t = statistics.median(o["seconds"] for o in ours)
b = statistics.median(base)
rss = max(o["rss_after_kb"] - o["rss_before_kb"] for o in ours) / 1024
peak = max(o["peak_kb"] for o in ours) / 1024
o = ours[0]
print(f"model: {o['parameters']:,} parameters, {o['tensors']} role tensors, {o['bytes_on_disk'] / 1e6:.0f} MB on disk")
print(f"open+index (median of {runs}): {t * 1000:.2f} ms   target < 300 ms   {'OK' if t < 0.3 else 'MISSED'}")
print(f"resident added by opening:   {rss:.2f} MB (process peak {peak:.1f} MB)   target < 50 MB   {'OK' if peak < 50 else 'MISSED'}")
print(f"baseline, python json header parse (median): {b * 1000:.2f} ms   ratio baseline/ours: {b / t:.1f}x")
print(f"whole 'sonify inspect --json' process: {cli_ms} ms")
PY
