#!/usr/bin/env bash
# Issue 19: `album --progress json` prints one JSON line per finished track on stderr,
# {done, total, elapsed, eta}, done counting 1..N, elapsed never decreasing, eta 0 at the end.
# Usage: tests/batch/progress_json.sh SONIFY_BIN
set -euo pipefail
SONIFY=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME=$T/cache
printf '%s\n' "The cat sat." "A dog ran far." "The sun is warm." >"$T/list.txt"
"$SONIFY" album "$T/list.txt" --model "$ROOT/data/models/sonify-tiny" --pca-sentences 64 --midi-only \
  --progress json -o "$T/a" >/dev/null 2>"$T/err"
/usr/bin/python3 - "$T/err" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
rows = [json.loads(line) for line in lines]
assert [r["done"] for r in rows] == [1, 2, 3], lines
assert all(r["total"] == 3 and set(r) == {"done", "total", "elapsed", "eta"} for r in rows), lines
assert all(a["elapsed"] <= b["elapsed"] for a, b in zip(rows, rows[1:])), lines
assert rows[-1]["eta"] == 0 and all(r["eta"] >= 0 for r in rows), lines
print("ok:", lines[-1])
PY
