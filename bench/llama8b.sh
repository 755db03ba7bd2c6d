#!/usr/bin/env bash
# Benchmark (issue 17): `analyze --no-cache` of a Llama-3.1-8B-shaped sharded BF16 checkpoint
# (bench/llama_checkpoint.py 8b: 32 layers, 4096 wide, 14336 MLP, 128256 vocab untied, 16 GB)
# in one run, cold cache each time:
#   fast      --svd fast (what --svd auto picks for this shape: over 5e9 matrix weights)
#   gram      --svd gram (Gram eigenvalues of every matrix: the exact path of smaller models);
#             1040 CPU-seconds, 9 min on two idle cores (session 18), so only when asked for
#   previous  another build (PREVIOUS=path/to/sonify) with --svd fast, for a before/after
# RUNS picks them (default "fast"; e.g. RUNS="fast gram").
# Prints for each: wall time, CPU time, GNU time's peak RSS, and the peak anonymous and
# file-backed resident memory sampled from /proc every 0.2 s (the issue's target, peak RSS
# ≤ 2 GB, counts anonymous memory: mapped checkpoint pages are the page cache's); the
# spectrum method of the matrices; `uptime` before and after each run and the BLAS.
# Usage: bench/llama8b.sh [BUILD_DIR]   (default build/release; MODEL=DIR to reuse a checkpoint)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
SONIFY=${SONIFY:-$BUILD/tools/sonify/sonify}
MODEL=${MODEL:-$ROOT/build/bench/llama-8b}
OUT=${OUT:-$BUILD/bench/llama8b}
rm -rf "$OUT"
mkdir -p "$OUT"

if [ ! -f "$MODEL/model.safetensors.index.json" ]; then
  echo "writing the Llama-3.1-8B-shaped checkpoint to $MODEL (16 GB, ~10 min) ..." >&2
  /usr/bin/python3 "$ROOT/bench/llama_checkpoint.py" 8b "$MODEL" >/dev/null
fi
echo "nproc: $(nproc); memory: $(free -g | awk '/Mem:/ {print $2 " GB total, " $7 " GB available"}')"
echo "BLAS: $(/usr/bin/python3 -c 'import ctypes; l = ctypes.CDLL("libopenblas.so.0"); l.openblas_get_config.restype = ctypes.c_char_p; print(l.openblas_get_config().decode())' 2>/dev/null || echo "not OpenBLAS")"

# run NAME BINARY ARGS... : one cold run under GNU time, its memory sampled from /proc.
run() {
  local name=$1 bin=$2
  shift 2
  echo "$name: start $(date -u +%H:%M:%S), $(uptime | sed 's/.*load/load/')"
  XDG_CACHE_HOME=$OUT/cache-$name /usr/bin/time -v -o "$OUT/$name.time" "$bin" "$@" >"$OUT/$name.log" 2>&1 &
  local timer=$! pid="" anon=0 file=0
  while kill -0 "$timer" 2>/dev/null; do
    [ -z "$pid" ] && pid=$(pgrep -P "$timer" | head -1 || true)
    if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
      read -r a f < <(awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {print a+0, f+0}' "/proc/$pid/status" 2>/dev/null || echo "0 0")
      [ "$a" -gt "$anon" ] && anon=$a
      [ "$f" -gt "$file" ] && file=$f
    fi
    sleep 0.2
  done
  wait "$timer" || { echo "$name failed:"; cat "$OUT/$name.log"; exit 1; }
  echo "$anon $file" >"$OUT/$name.mem"
  echo "$name: end $(date -u +%H:%M:%S), $(uptime | sed 's/.*load/load/')"
}
names=()
for name in ${RUNS:-fast}; do
  case $name in
    previous) run previous "${PREVIOUS:?PREVIOUS=path/to/sonify}" analyze --model "$MODEL" --no-cache --quiet \
      --svd fast -o "$OUT/previous.json" ;;
    fast | gram) run "$name" "$SONIFY" analyze --model "$MODEL" --no-cache --quiet --svd "$name" -o "$OUT/$name.json" ;;
    *) echo "unknown run $name (fast, gram, previous)" >&2 && exit 2 ;;
  esac
  names+=("$name")
done

/usr/bin/python3 - "$OUT" "${names[@]}" <<'PY'
import collections, json, re, sys
out, names = sys.argv[1], sys.argv[2:]
print(f"\n{'run':9} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'anon MB':>8} {'file MB':>8}  methods")
for n in names:
    t = open(f"{out}/{n}.time").read()
    wall = t.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split("\n")[0].split(":")
    secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
    cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t)[1]) + float(re.search(r"System time \(seconds\): ([\d.]+)", t)[1])
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)[1])
    anon, file = (int(x) for x in open(f"{out}/{n}.mem").read().split())
    methods = collections.Counter(m["spectrum"]["method"] for m in json.load(open(f"{out}/{n}.json"))["matrices"])
    print(f"{n:9} {secs:8.1f} {cpu:8.1f} {rss / 1024:12.0f} {anon / 1024:8.0f} {file / 1024:8.0f}  {dict(methods)}")
print("(anon/file: the largest RssAnon/RssFile sampled every 0.2 s)")
PY
