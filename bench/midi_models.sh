#!/usr/bin/env bash
# Benchmark (issue 15): training and sampling speed of a MIDI event model in the seed's
# shape (3 layers, 128 wide, 4 heads, context 256, vocabulary 291) on this machine.
#   training: `sonify train --midi` for STEPS steps of batch 8 x 256 on 40 generated rock
#             files, with 1 and with 2 threads (training tokens/s as training.json says);
#   sampling: `sonify sample --seconds 30` of the bundled midi-bach, RUNS seeds, 1 and 2
#             threads (sampled tokens / the JSON's sampling seconds, the KV-cache loop only).
# Baseline in the same run: Debian's numpy (same BLAS) doing a training step's matrix
# products (forward and both backward products of every weight matrix and of attention,
# float32), so the ratio says how far a token's step is from this machine's BLAS speed for
# the same arithmetic. Prints figures with the load and the BLAS; asserts nothing.
# Usage: bench/midi_models.sh [BUILD_DIR] [STEPS] [RUNS]   (defaults build/release, 40, 3)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
STEPS=${2:-40}
RUNS=${3:-3}
SONIFY=$BUILD/tools/sonify/sonify
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
LOAD_BEFORE=$(uptime | sed 's/.*load average: //')

/usr/bin/python3 "$ROOT/scripts/genre_corpora.py" rock "$TMP/rock" --count 40 --seed 0 >/dev/null
train_rate() {  # threads -> training tokens/s
  rm -rf "$TMP/m"
  OPENBLAS_NUM_THREADS=$1 "$SONIFY" train --midi "$TMP/rock" --out "$TMP/m" --steps "$STEPS" --batch 8 \
    --seed 0 --threads "$1" -q >/dev/null
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokens_per_second"])' \
    "$TMP/m/training.json"
}
sample_rate() {  # threads -> best sampled tokens/s over RUNS seeds
  local best=0 seed
  for seed in $(seq "$RUNS"); do
    OPENBLAS_NUM_THREADS=$1 "$SONIFY" sample --seconds 30 --seed "$seed" --threads "$1" --midi-only -q \
      -o "$TMP/s" --name s >/dev/null
    best=$(/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); r=j["tokens"]/j["timings_seconds"]["sampling"]; print(max(r, float(sys.argv[2])))' \
      "$TMP/s/s.json" "$best")
  done
  echo "$best"
}
T1=$(train_rate 1)
T2=$(train_rate 2)
S1=$(sample_rate 1)
S2=$(sample_rate 2)
BLAS=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)

/usr/bin/python3 - "$T1" "$T2" "$S1" "$S2" "$LOAD_BEFORE" "$(uptime | sed 's/.*load average: //')" "$BLAS" <<'PY'
import os, sys, time
import numpy as np
t1, t2, s1, s2 = map(float, sys.argv[1:5])
load_before, load_after, blas = sys.argv[5:8]
B, T, D, L, V, H = 8, 256, 128, 3, 291, 4
rng = np.random.default_rng(0)
x = rng.standard_normal((B * T, D), dtype=np.float32)
w = {k: rng.standard_normal(s, dtype=np.float32) for k, s in
     {"qkv": (D, 3 * D), "o": (D, D), "fc": (D, 4 * D), "proj": (4 * D, D), "head": (D, V)}.items()}
h = rng.standard_normal((B * T, 4 * D), dtype=np.float32)
q = rng.standard_normal((B * H, T, D // H), dtype=np.float32)


def step():
    # Forward and the two backward products (input and weight gradients) of each matrix.
    for _ in range(L):
        for k in ("qkv", "o", "fc", "proj"):
            a = h if k == "proj" else x
            y = a @ w[k]
            a @ w[k]  # grad of the input: same shape of work
            a.T @ y  # grad of the weight
        s = q @ q.transpose(0, 2, 1)
        s @ q
        s @ q
        s.transpose(0, 2, 1) @ q
    y = x @ w["head"]
    x.T @ y
    y @ w["head"].T


def rate(threads):
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    step()
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t)
    return B * T / best


# numpy's BLAS thread count is fixed at import; the baseline runs with what it was given.
n = rate(int(os.environ.get("OPENBLAS_NUM_THREADS", "0")) or os.cpu_count())
print("MIDI model bench: seed shape (3 x 128, 4 heads, context 256, vocabulary 291); BLAS %s" % blas)
print("load average before: %s; after: %s" % (load_before, load_after))
print("training (batch 8 x 256): %7.0f tokens/s with 1 thread, %7.0f with 2 (%.2fx)" % (t1, t2, t2 / t1))
print("sampling (KV cache, 30 s): %6.0f tokens/s with 1 thread, %7.0f with 2" % (s1, s2))
print("numpy, the same step's matrix products: %7.0f tokens/s; sonify's training with 2 threads at %.2f of it"
      % (n, t2 / n))
PY
