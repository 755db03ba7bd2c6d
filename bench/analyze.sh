#!/usr/bin/env bash
# Benchmark: full `sonify analyze` of the synthetic Gemma-3-270M-shaped BF16 checkpoint
# (every 2-D weight incl. the 262144 x 640 embedding: all singular values, moments,
# percentiles, histogram, norms, transitions) against a numpy/scipy baseline run in the
# same session on the same file: np.linalg.svd(compute_uv=False) + scipy.stats.skew/
# kurtosis + np.percentile/np.histogram per tensor. Targets (issue 17): >= 15x faster than
# the baseline, peak RSS <= 1 GB; wall and CPU seconds of both sides are printed. Also checks that 1 and 2 threads write the
# same bytes and how far our singular values are from numpy's.
# Usage: bench/analyze.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
SONIFY=$BUILD/tools/sonify/sonify
MODEL=$BUILD/bench/gemma3-270m-bf16
OUT=$BUILD/bench/analyze
mkdir -p "$OUT"

if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "writing the synthetic Gemma-3-270M BF16 checkpoint to $MODEL ..." >&2
  "$SONIFY" synth-checkpoint --arch "$ROOT/configs/architectures/gemma3-270m.json" --dtype BF16 --seed 1 -o "$MODEL" >/dev/null
fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$MODEL/model.safetensors" >/dev/null  # warm page cache for both sides

run() {  # run THREADS OUTFILE -> prints "seconds rss_kb"
  /usr/bin/time -f "%e %M %U %S" -o "$OUT/time.txt" "$SONIFY" analyze --model "$MODEL" --no-cache --quiet \
    --threads "$1" -o "$2"
  cat "$OUT/time.txt"
}
read -r ours rss user sys < <(run 2 "$OUT/features-2.json")
read -r ours1 rss1 user1 sys1 < <(run 1 "$OUT/features-1.json")
same=no
cmp -s "$OUT/features-1.json" "$OUT/features-2.json" && same=yes

/usr/bin/python3 - "$MODEL" "$OUT" <<'PY'
import json, struct, sys, time
import numpy as np, scipy.stats
model, out = sys.argv[1], sys.argv[2]
t0, c0 = time.perf_counter(), time.process_time()
with open(model + "/model.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    base = 8 + n
    svs = {}
    for name, e in sorted(header.items()):
        if name == "__metadata__" or len(e["shape"]) != 2:
            continue
        f.seek(base + e["data_offsets"][0])
        raw = np.frombuffer(f.read(e["data_offsets"][1] - e["data_offsets"][0]), dtype="<u2")
        w = (raw.astype(np.uint32) << 16).view(np.float32).reshape(e["shape"])
        x = w.ravel().astype(np.float64)
        svs[name] = np.linalg.svd(w, compute_uv=False).tolist()
        scipy.stats.skew(x); scipy.stats.kurtosis(x); np.mean(x); np.std(x)
        lo, hi = np.percentile(x, [2, 98]); np.histogram(x, 32, (lo, hi))
        np.linalg.norm(w, axis=0); np.linalg.norm(w, axis=1)
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
json.dump({"seconds": elapsed, "cpu_seconds": cpu, "sv": svs}, open(out + "/baseline.json", "w"))
PY

/usr/bin/python3 - "$OUT" "$ours" "$rss" "$ours1" "$rss1" "$same" "$user" "$sys" "$user1" "$sys1" <<'PY'
import json, sys
out, ours, rss, ours1, rss1, same = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
cpu2, cpu1 = float(sys.argv[7]) + float(sys.argv[8]), float(sys.argv[9]) + float(sys.argv[10])
base = json.load(open(out + "/baseline.json"))
feat = json.load(open(out + "/features-2.json"))
worst_rel, worst_abs, n = 0.0, 0.0, 0
methods = {}
for m in feat["matrices"]:
    ref = base["sv"].get(m["tensor"])
    if ref is None:
        continue
    sv = m["spectrum"]["singular_values"]
    methods[m["spectrum"]["method"]] = methods.get(m["spectrum"]["method"], 0) + 1
    top = -(-9 * len(ref) // 10)
    worst_rel = max(worst_rel, max(abs(a - b) / b for a, b in zip(sv[:top], ref[:top])))
    worst_abs = max(worst_abs, max(abs(a - b) for a, b in zip(sv, ref)) / ref[0])
    n += 1
b = base["seconds"]
print(f"matrices: {n} ({', '.join(f'{k}: {v}' for k, v in sorted(methods.items()))})")
print(f"sonify analyze, 2 threads: {ours:.2f} s wall, {cpu2:.1f} CPU-s, peak RSS {rss / 1024:.0f} MB   "
      f"target <= 1 GB {'OK' if rss <= 1024 * 1024 else 'MISSED'}")
print(f"sonify analyze, 1 thread:  {ours1:.2f} s wall, {cpu1:.1f} CPU-s, peak RSS {rss1 / 1024:.0f} MB; same bytes as 2 threads: {same}")
print(f"baseline numpy/scipy (np.linalg.svd + scipy.stats): {b:.2f} s wall, {base['cpu_seconds']:.1f} CPU-s")
print(f"ratio baseline/ours (2 threads): {b / ours:.1f}x wall   target >= 15x {'OK' if b / ours >= 15 else 'MISSED'}; "
      f"{base['cpu_seconds'] / cpu2:.1f}x CPU-s")
print(f"singular values vs numpy: max relative error over the top 90% {worst_rel:.2e}, "
      f"max absolute error / sigma_max over all {worst_abs:.2e}")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
