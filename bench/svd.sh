#!/usr/bin/env bash
# Benchmark (issue 17): analysis of a Llama-3.2-1B-shaped sharded BF16 checkpoint
# (bench/llama_checkpoint.py: 16 layers, 2048 wide, 8192 MLP, 128256 vocab, tied, power-law
# spectra) in one run, cold cache each time:
#   previous  the Eigen build (PREVIOUS=path/to/sonify; default build/sonify-eigen), --svd auto
#   auto      this build, --svd auto (Gram eigenvalues through LAPACK; exact below 256 wide;
#             the Gram matrix in double, "gram64", for the square q and o projections)
#   fast      this build, --svd fast
#   exact     this build, --svd exact (dgesdd on every matrix), only with EXACT=1 (slow);
#             then auto's error against it is printed per method (gram, gram64)
# and `weights --genre acid --midi-only` cold with auto and fast. Prints wall time, CPU time,
# peak RSS (/usr/bin/time -v), ratios against this run's own baseline, the BLAS, `uptime`
# before and after, the σ difference between the Eigen and LAPACK paths, and the error of
# fast against auto next to the error fast reports for itself.
# Usage: bench/svd.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
SONIFY=${SONIFY:-$BUILD/tools/sonify/sonify}
PREVIOUS=${PREVIOUS:-$ROOT/build/sonify-eigen}
MODEL=${MODEL:-$ROOT/build/bench/llama-1b}
OUT=$BUILD/bench/svd
# REUSE_PREVIOUS=DIR: take the Eigen build's results (previous.json, previous.time) from an
# earlier run of this script instead of running it again (it takes the longest).
rm -rf "$OUT"
mkdir -p "$OUT"
[ -n "${REUSE_PREVIOUS:-}" ] && cp -p "$REUSE_PREVIOUS"/previous.json "$REUSE_PREVIOUS"/previous.time "$OUT"/

if [ ! -f "$MODEL/model.safetensors.index.json" ]; then
  echo "writing the Llama-3.2-1B-shaped checkpoint to $MODEL ..." >&2
  /usr/bin/python3 "$ROOT/bench/llama_checkpoint.py" 1b "$MODEL" >/dev/null
fi
echo "uptime before: $(uptime)"
echo "nproc: $(nproc)"
echo "BLAS: $(/usr/bin/python3 -c 'import ctypes; l = ctypes.CDLL("libopenblas.so.0"); l.openblas_get_config.restype = ctypes.c_char_p; print(l.openblas_get_config().decode())' 2>/dev/null || echo "not OpenBLAS")"
echo "libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3), liblapack.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/liblapack.so.3)"
cat "$MODEL"/*.safetensors >/dev/null  # page cache warm for every run alike

# run NAME BINARY ARGS... : one cold run (own empty cache), GNU time -v into NAME.time
run() {
  local name=$1 bin=$2
  shift 2
  XDG_CACHE_HOME=$OUT/cache-$name /usr/bin/time -v -o "$OUT/$name.time" "$bin" "$@" >"$OUT/$name.log" 2>&1 \
    || { echo "$name failed:"; cat "$OUT/$name.log"; exit 1; }
  echo "$name done at load $(cut -d' ' -f1 /proc/loadavg)"
}
names=()
if [ -n "${REUSE_PREVIOUS:-}" ]; then
  echo "previous: reused from $REUSE_PREVIOUS ($(stat -c %y "$OUT/previous.time" | cut -c1-19))"
  names+=(previous)
elif [ -x "$PREVIOUS" ]; then
  run previous "$PREVIOUS" analyze --model "$MODEL" --no-cache --quiet -o "$OUT/previous.json"
  names+=(previous)
fi
run auto "$SONIFY" analyze --model "$MODEL" --no-cache --quiet -o "$OUT/auto.json"
run fast "$SONIFY" analyze --model "$MODEL" --no-cache --quiet --svd fast -o "$OUT/fast.json"
names+=(auto fast)
if [ "${EXACT:-0}" = 1 ]; then
  run exact "$SONIFY" analyze --model "$MODEL" --no-cache --quiet --svd exact -o "$OUT/exact.json"
  names+=(exact)
fi
run weights-auto "$SONIFY" weights --model "$MODEL" --genre acid --midi-only -q -o "$OUT/w-auto"
run weights-fast "$SONIFY" weights --model "$MODEL" --genre acid --midi-only -q --svd fast -o "$OUT/w-fast"
names+=(weights-auto weights-fast)
echo "uptime after: $(uptime)"

/usr/bin/python3 - "$OUT" "${names[@]}" <<'PY'
import json, re, sys, hashlib
import numpy as np
out, names = sys.argv[1], sys.argv[2:]

def gnu_time(name):
    t = open(f"{out}/{name}.time").read()
    wall = t.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split("\n")[0].split(":")
    secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
    cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t)[1]) + float(re.search(r"System time \(seconds\): ([\d.]+)", t)[1])
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)[1])
    return secs, cpu, rss

base = "previous" if "previous" in names else "auto"
b = gnu_time(base)[0]
print(f"\n{'run':14} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'vs ' + base:>12}")
for n in names:
    w, c, r = gnu_time(n)
    ref = gnu_time("weights-auto")[0] if n.startswith("weights") else b
    print(f"{n:14} {w:8.1f} {c:8.1f} {r / 1024:12.0f} {ref / w:11.2f}x" + ("  (vs weights-auto)" if n.startswith("weights") else ""))

def load(n):
    return {(m["layer"], m["role"]): m for m in json.load(open(f"{out}/{n}.json"))["matrices"]}

auto = load("auto")
if "previous" in names:
    prev = load("previous")
    worst = worst_all = 0
    for k, m in auto.items():
        a, p = np.array(m["spectrum"]["singular_values"]), np.array(prev[k]["spectrum"]["singular_values"])
        top = int(np.ceil(0.9 * len(a)))
        worst = max(worst, np.max(np.abs(a[:top] - p[:top]) / p[:top]))
        worst_all = max(worst_all, np.max(np.abs(a - p)) / p[0])
    print(f"\nLAPACK vs Eigen (auto): sigma max relative difference, top 90%: {worst:.2e}; all, relative to sigma1: {worst_all:.2e}")

if "exact" in names:
    exact = load("exact")
    worst = {}
    for k, m in auto.items():
        s, e = m["spectrum"], exact[k]["spectrum"]
        x, y = np.array(s["singular_values"]), np.array(e["singular_values"])
        top = int(np.ceil(0.9 * len(y)))
        r = worst.setdefault(s["method"], [0.0] * 5)
        vals = [np.max(np.abs(x[:top] - y[:top]) / y[:top]), np.max(np.abs(x - y)) / y[0],
                abs(s["condition_number"] - e["condition_number"]) / e["condition_number"] if e["condition_number"] else 0,
                abs(s["alpha"] - e["alpha"]) / max(abs(e["alpha"]), 1e-12), abs(s["mp_ks"] - e["mp_ks"])]
        worst[s["method"]] = [max(a, float(b)) for a, b in zip(r, vals)]
    print("\nauto vs exact (dgesdd), worst per method of auto:")
    print(f"{'method':8} {'top90 rel':>10} {'abs/s1':>9} {'cond rel':>9} {'alpha rel':>9} {'mp_ks abs':>9}")
    for method, r in sorted(worst.items()):
        print(f"{method:8} " + " ".join(f"{v:9.2e}" for v in r))

fast = load("fast")
print("\nfast vs auto, per matrix kind (worst over layers):")
print(f"{'role':8} {'method':6} {'top64 err':>10} {'reported':>9} {'bulk KS':>8} {'reported':>9} {'stable_rank':>11} {'entropy':>8} {'alpha':>8} {'mp_ks':>7}")
rows = {}
for k, m in fast.items():
    s, e = m["spectrum"], auto[k]["spectrum"]
    f, x = np.array(s["singular_values"]), np.array(e["singular_values"])
    if s["method"] != "fast":
        continue
    t = s["fast_top"]
    top_err = float(np.max(np.abs(f[:t] - x[:t]) / x[:t]))
    fb, xb = np.sort(f[t:]), np.sort(x[t:])
    grid = np.union1d(fb, xb)
    ks = float(np.max(np.abs(np.searchsorted(fb, grid, "right") / len(fb) - np.searchsorted(xb, grid, "right") / len(xb))))
    rel = lambda key: abs(s[key] - e[key]) / max(abs(e[key]), 1e-12)
    r = rows.setdefault(m["role"], [0] * 8)
    for i, v in enumerate([top_err, s["fast_top_error"], ks, s["fast_bulk_error"], rel("stable_rank"),
                           rel("spectral_entropy"), rel("alpha"), abs(s["mp_ks"] - e["mp_ks"])]):
        r[i] = max(r[i], v)
for role, r in rows.items():
    print(f"{role:8} {'fast':6} {r[0]:10.2e} {r[1]:9.2e} {r[2]:8.3f} {r[3]:9.3f} {r[4]:11.2e} {r[5]:8.2e} {r[6]:8.2e} {r[7]:7.3f}")
print("(errors relative except bulk KS and mp_ks, absolute; 'reported' = what fast wrote in the features)")
if "weights-fast" in names:
    h = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]
    a, f = h(f"{out}/w-auto/acid.mid"), h(f"{out}/w-fast/acid.mid")
    print(f"\nweights acid MIDI sha256: auto {a}, fast {f} ({'identical' if a == f else 'different'})")
PY
