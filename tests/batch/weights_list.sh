#!/usr/bin/env bash
# Issue 19: `weights --model-list FILE --shard K/N` on three concurrent shards, merged, gives
# the index.json and MIDI bytes of one unsharded run; merge refuses a missing shard and a
# failed entry in one line; a bad --shard is one line.
# Usage: tests/batch/weights_list.sh SONIFY_BIN   (exit 77 without the fixtures, unless CI=true)
set -euo pipefail
SONIFY=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FIX=${SONIFY_FIXTURES:-$ROOT/../shared/fixtures}
if [ ! -d "$FIX/models/TinyStories-656K" ]; then
  echo "weights_list: fixtures not found at $FIX" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME=$T/cache
cat >"$T/list.txt" <<LIST
# every model once; blank lines and comments do not count as entries

$FIX/models/TinyStories-656K
$FIX/models/tiny-gpt2-random
$FIX/models/tiny-gemma3-random
$ROOT/data/models/sonify-tiny
LIST
run() { "$SONIFY" weights --genre acid --midi-only "$@"; }

run --model-list "$T/list.txt" -o "$T/one" -q
run --merge -o "$T/one" -q
for k in 0 1 2; do run --model-list "$T/list.txt" --shard "$k/3" -o "$T/three" -q --progress json 2>"$T/progress-$k" & done
wait
/usr/bin/python3 - "$T/progress-0" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]).read().splitlines()]
assert [r["done"] for r in rows] == [1, 2] and all(r["total"] == 2 for r in rows), rows  # entries 0 and 3
PY
run --merge -o "$T/three" -q
cmp "$T/one/index.json" "$T/three/index.json"
for d in 000-TinyStories-656K 001-tiny-gpt2-random 002-tiny-gemma3-random 003-sonify-tiny; do
  cmp "$T/one/$d/acid.mid" "$T/three/$d/acid.mid"
done
/usr/bin/python3 - "$T/one/index.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert [m["index"] for m in j["models"]] == [0, 1, 2, 3], j
assert all(m["ok"] and m["files"] == [m["dir"] + "/acid.mid", m["dir"] + "/acid.json"] for m in j["models"]), j
assert len({m["key"] for m in j["models"]}) >= 2, j  # the models do not all sound alike
PY

one_line() {  # one_line EXPECTED_SUBSTRING CMD...: non-zero exit, exactly one error line naming it
  local expected=$1
  shift
  if "$@" >/dev/null 2>"$T/err"; then echo "weights_list: expected failure: $*" >&2; exit 1; fi
  [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "^sonify: error: .*$expected" "$T/err" ||
    { echo "weights_list: wanted one line with '$expected', got:" >&2; cat "$T/err" >&2; exit 1; }
}
rm "$T/three/weights-shard-1-of-3.json"
one_line "weights-shard-1-of-3.json is missing" run --merge -o "$T/three"
one_line "expected K/N" run --model-list "$T/list.txt" --shard 3/3 -o "$T/bad"
[ ! -e "$T/bad" ]
one_line "--shard needs --model-list FILE" run --shard 0/2 -o "$T/bad"
[ ! -e "$T/bad" ]
printf '%s\n' "$ROOT/data/models/sonify-tiny" "$T/no-such-model" >"$T/broken.txt"
if run --model-list "$T/broken.txt" -o "$T/broken" -q 2>"$T/err"; then exit 1; fi
grep -q "001-no-such-model" "$T/err"
one_line "001-no-such-model failed" run --merge -o "$T/broken"
echo "weights_list: ok"
