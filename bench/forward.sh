#!/usr/bin/env bash
# Benchmark: `sonify trace` on a 128-token prompt with full capture (hidden states,
# attention probabilities, MLP activations, logits at every position) on the synthetic
# Gemma-3-270M-shaped BF16 checkpoint, against two peers measured in the same run:
#  - numpy (on the same BLAS) doing the forward's matrix products in float32, weights
#    already converted and outputs preallocated: what this machine's BLAS does for this
#    much matrix work. Target: the forward takes <= 1.5x that.
#  - a PyTorch eager script of the same math (bench/forward_torch.py, Debian's
#    python3-torch; bench only) reading the same checkpoint file for the same ids, its
#    capture checked equal to sonify's to 1e-4 (relative to each tensor's largest value).
#    Target: sonify's whole process >= 1.5x faster, with a lower peak RSS.
# Runs alternate between sonify and PyTorch so both see the same load; prints figures and
# asserts nothing. Usage: bench/forward.sh [BUILD_DIR]   (default build/release)
# RUNS=n sets the runs of each (default 3); THREADS=n the threads of both (default: all).
# Fresh memory: on the VMs this project runs on, the first write to a guest page the host
# has taken back costs ~25x a write to one it still backs (measured: 0.43 against 10.5
# GB/s), and the forward fills ~164 MB of fresh capture (the 134 MB of logits). So the
# bench prints the first-touch rate of 256 MB before and after the runs, and WARM=1 writes
# and frees 2 GB before every run of either program, so each starts on backed memory (what
# a machine without a hypervisor always has; numpy's outputs are written before its clock).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
SONIFY=$BUILD/tools/sonify/sonify
MODEL=$BUILD/bench/gemma3-270m-bf16
RUNS=${RUNS:-3}
THREADS=${THREADS:-$(nproc)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench/forward.sh: needs Debian's python3-torch for the PyTorch peer (apt-get install python3-torch)" >&2
  exit 1
fi
if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "writing the synthetic Gemma-3-270M BF16 checkpoint to $MODEL ..." >&2
  "$SONIFY" synth-checkpoint --arch "$ROOT/configs/architectures/gemma3-270m.json" --dtype BF16 --seed 0 -o "$MODEL" >/dev/null
fi
IDS=$(/usr/bin/python3 -c 'import random; r = random.Random(0); print(",".join(str(r.randrange(262144)) for _ in range(128)))')
LOAD_BEFORE=$(uptime)
BLAS=$("$SONIFY" doctor --json | /usr/bin/python3 -c 'import json,sys; b=json.load(sys.stdin)["blas"]; print(b["config"] or b["kind"], "-", b["library"])')

# First-touch rate of fresh memory, GB/s (a 256 MB array written once, then freed).
touch_rate() {
  /usr/bin/python3 -c 'import time, numpy as np
t = time.perf_counter(); a = np.empty(1 << 26, np.float32); a[::1024] = 1; d = time.perf_counter() - t
print(f"{0.25 / d:.2f}")'
}
warm() { [ "${WARM:-0}" = 1 ] && /usr/bin/python3 -c 'import numpy as np; a = np.empty(1 << 29, np.float32); a[::1024] = 1' || true; }
TOUCH_BEFORE=$(touch_rate)
sonify_runs=()
torch_runs=()
for i in $(seq "$RUNS"); do
  warm
  /usr/bin/time -f '%e %M %U %S' -o "$TMP/time" "$SONIFY" trace --model "$MODEL" --ids "$IDS" --logits all --json \
    --threads "$THREADS" -o "$TMP/trace.safetensors" >"$TMP/out.json"
  sonify_runs+=("$(cat "$TMP/time") $(/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); s=j["seconds"]; print(s["load"], s["forward"], s["write"], j["threads"])' "$TMP/out.json")")
  warm
  OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS /usr/bin/time -f '%e %M %U %S' -o "$TMP/time" \
    /usr/bin/python3 "$ROOT/bench/forward_torch.py" "$MODEL" "$IDS" "$TMP/torch.safetensors" "$THREADS" >"$TMP/torch.json"
  torch_runs+=("$(cat "$TMP/time")")
done
TOUCH_AFTER=$(touch_rate)
TRACE_MB=$(($(stat -c %s "$TMP/trace.safetensors") / 1000000))
LOAD_AFTER=$(uptime)

/usr/bin/python3 - "$MODEL" "$TMP" "$TRACE_MB" "$THREADS" "$RUNS" "${sonify_runs[@]}" "${torch_runs[@]}" <<'PY'
import json, statistics, struct, sys, time
import numpy as np
model, tmp, trace_mb, threads, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
# sonify rows: wall, peak KB, user s, sys s, load s, forward s, write s, threads; torch rows: the first four.
srows = [list(map(float, r.split())) for r in sys.argv[6:6 + runs]]
trows = [list(map(float, r.split())) for r in sys.argv[6 + runs:6 + 2 * runs]]
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
outs = [np.ones((T, b), dtype=np.float32) for _, b in layer_mats]
logits = np.ones((T, V), dtype=np.float32)
base = []
for _ in range(3):
    t = time.perf_counter()
    for _ in range(L):
        for (a, b), w, o in zip(layer_mats, mats, outs):
            np.matmul(x[:, :a], w, out=o)
    np.matmul(x[:, :D], head, out=logits)
    base.append(time.perf_counter() - t)
b = min(base)


def load(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name != "__metadata__":
            s, e = info["data_offsets"]
            dt = np.float32 if info["dtype"] == "F32" else np.int64
            out[name] = np.frombuffer(data, dt, (e - s) // np.dtype(dt).itemsize, 8 + n + s).reshape(info["shape"])
    return out


ours, peer = load(tmp + "/trace.safetensors"), load(tmp + "/torch.safetensors")
assert ours.keys() == peer.keys(), sorted(set(ours) ^ set(peer))
worst = max(float(np.abs(ours[k].astype(np.float64) - peer[k]).max() / max(1.0, float(np.abs(peer[k]).max())))
            for k in ours)

med = lambda rows, i: statistics.median(r[i] for r in rows)
wall, twall = med(srows, 0), med(trows, 0)
rss, trss = max(r[1] for r in srows) / 1024, max(r[1] for r in trows) / 1024
fwd = med(srows, 5)
print(f"model: {params / 1e6:.0f} M parameters in matmuls (incl. the tied {V}x{D} head); {T} tokens;"
      f" {flops / 1e9:.1f} GFLOP; trace file {trace_mb} MB; {threads} threads for sonify, numpy's BLAS and torch")
print(f"sonify trace forward (median of {runs}): {fwd:.3f} s = {flops / fwd / 1e9:.1f} GFLOP/s"
      f" (runs: {', '.join(f'{r[5]:.3f}' for r in srows)})")
print(f"numpy float32 matmuls of the same shapes, outputs preallocated (best of 3): {b:.3f} s = {flops / b / 1e9:.1f} GFLOP/s")
print(f"ratio forward / bare products: {fwd / b:.2f}x   target <= 1.5x   {'OK' if fwd / b <= 1.5 else 'MISSED'}")
print(f"whole process (median of {runs}): sonify {wall:.2f} s (load {med(srows, 4):.2f}, forward {fwd:.2f},"
      f" write {med(srows, 6):.2f}; CPU {med(srows, 2) + med(srows, 3):.2f} s);"
      f" PyTorch eager {twall:.2f} s (CPU {med(trows, 2) + med(trows, 3):.2f} s)")
print(f"speed-up over PyTorch: {twall / wall:.2f}x   target >= 1.5x   {'OK' if twall / wall >= 1.5 else 'MISSED'}")
print(f"peak RSS (max of {runs}): sonify {rss:.0f} MB, PyTorch {trss:.0f} MB   {'OK' if rss < trss else 'MISSED'}")
print(f"sonify's capture vs PyTorch's: largest |difference| / max(1, largest |value|) over the {len(ours)} tensors:"
      f" {worst:.2e}   {'OK' if worst <= 1e-4 else 'DIFFERENT'}")
PY
echo "BLAS: $BLAS"
echo "fresh memory first-touch rate: ${TOUCH_BEFORE} GB/s before the runs, ${TOUCH_AFTER} GB/s after (WARM=${WARM:-0})"
echo "uptime before: $LOAD_BEFORE"
echo "uptime after:  $LOAD_AFTER"
