#!/usr/bin/env bash
# Benchmark: `sonify trace` on a 128-token prompt with full capture (hidden states,
# attention probabilities, MLP activations, logits at every position) on the synthetic
# Gemma-3-270M-shaped BF16 checkpoint. Targets on the 2-core reference machine: <= 3 s
# wall and <= 1.5 GB peak RSS for the whole process.
# Baseline measured in the same run: Debian's numpy (on the same BLAS) doing the same
# matrix products in float32 with the weights already converted, i.e. what this machine
# can do for this much matrix work. Prints figures; asserts nothing.
# Usage: bench/forward.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
SONIFY=$BUILD/tools/sonify/sonify
MODEL=$BUILD/bench/gemma3-270m-bf16
RUNS=3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "writing the synthetic Gemma-3-270M BF16 checkpoint to $MODEL ..." >&2
  "$SONIFY" synth-checkpoint --arch "$ROOT/configs/architectures/gemma3-270m.json" --dtype BF16 --seed 0 -o "$MODEL" >/dev/null
fi
IDS=$(/usr/bin/python3 -c 'import random; r = random.Random(0); print(",".join(str(r.randrange(262144)) for _ in range(128)))')
LOAD=$(uptime | sed 's/.*load average: //')

runs=()
for i in $(seq $RUNS); do
  /usr/bin/time -f '%e %M %U %S' -o "$TMP/time" "$SONIFY" trace --model "$MODEL" --ids "$IDS" --logits all --json \
    -o "$TMP/trace.safetensors" >"$TMP/out.json"
  runs+=("$(cat "$TMP/time") $(/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); s=j["seconds"]; print(s["load"], s["forward"], s["write"], j["threads"])' "$TMP/out.json")")
done
TRACE_MB=$(( $(stat -c %s "$TMP/trace.safetensors") / 1000000 ))

/usr/bin/python3 - "$MODEL" "$RUNS" "$TRACE_MB" "$LOAD" "${runs[@]}" <<'PY'
import json, statistics, sys, time
import numpy as np
model, runs, trace_mb, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [list(map(float, r.split())) for r in sys.argv[5:5 + runs]]
cfg = json.load(open(model + "/config.json"))
T, D, I, V, L = 128, cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
H, KV, HD = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
# (in, out) of every projection in a layer, then the vocabulary projection.
layer_mats = [(D, H * HD), (D, KV * HD), (D, KV * HD), (H * HD, D), (D, I), (D, I), (I, D)]
params = L * sum(a * b for a, b in layer_mats) + V * D
flops = 2 * params * T + L * 2 * 2 * H * T * T * HD

rng = np.random.default_rng(0)
x = rng.standard_normal((T, max(D, I, H * HD)), dtype=np.float32)
mats = [rng.standard_normal(m, dtype=np.float32) for m in layer_mats]
head = rng.standard_normal((D, V), dtype=np.float32)
base = []
for _ in range(3):
    t = time.perf_counter()
    for _ in range(L):
        for (a, b), w in zip(layer_mats, mats):
            x[:, :a] @ w
    x[:, :D] @ head
    base.append(time.perf_counter() - t)
b = min(base)

wall = statistics.median(r[0] for r in rows)
rss = max(r[1] for r in rows) / 1024
# Row: wall, peak KB, user s, sys s, load s, forward s, write s, threads.
fwd = statistics.median(r[5] for r in rows)
cpu = statistics.median(r[2] + r[3] for r in rows)
print(f"machine load average before the runs: {load}")
print(f"model: {params / 1e6:.0f} M parameters in matmuls (incl. the tied {V}x{D} head); {T} tokens;"
      f" {flops / 1e9:.1f} GFLOP; trace file {trace_mb} MB; {int(rows[0][7])} BLAS threads")
print(f"sonify trace, whole process (median of {runs}): {wall:.2f} s   target <= 3 s   {'OK' if wall <= 3 else 'MISSED'}")
print(f"  of which load {statistics.median(r[4] for r in rows):.2f} s, forward {fwd:.2f} s, write {statistics.median(r[6] for r in rows):.2f} s;"
      f" CPU time (user + sys) {cpu:.2f} s")
print(f"peak RSS (max of {runs}): {rss:.0f} MB   target <= 1536 MB   {'OK' if rss <= 1536 else 'MISSED'}")
print(f"forward: {flops / fwd / 1e9:.1f} GFLOP/s")
print(f"baseline, numpy float32 matmuls of the same shapes (best of 3): {b:.2f} s = {flops / b / 1e9:.1f} GFLOP/s")
print(f"ratio forward/baseline: {fwd / b:.2f}x (1.0 = as fast as this machine's BLAS on the same products)")
PY
