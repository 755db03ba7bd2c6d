#!/usr/bin/env bash
# Issue 19: an album of 6 prompts rendered as 3 concurrent shard processes into one
# directory and merged must be byte-identical to one `-j 1` run; an interrupted shard
# (--stop-after, then a real SIGKILL) resumes; merge refuses a missing, unfinished or
# inconsistent shard with one line naming it.
# Usage: tests/batch/shard_album.sh SONIFY_BIN
set -euo pipefail
SONIFY=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MODEL=$ROOT/data/models/sonify-tiny
T=${KEEP:-$(mktemp -d)}
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
export XDG_CACHE_HOME=$T/cache
fail() { echo "FAIL: $*" >&2; exit 1; }
one_line_error() {  # STDERR_FILE EXPECTED_SUBSTRING
  [ "$(wc -l <"$1")" -eq 1 ] || fail "expected one error line, got: $(cat "$1")"
  grep -q "^sonify: error: .*$2" "$1" || fail "expected '$2' in: $(cat "$1")"
}
cat >"$T/list.txt" <<'LIST'
# six prompts, one a line (shard K takes tracks K+1 and K+4)
The cat sat on the warm mat.
A storm broke over the dark sea.
Lily found a red ball in the park.
The old king was angry and afraid.
Birds sang softly in the morning.
The dog barked at the loud thunder.
LIST
opts=(--model "$MODEL" --pca-sentences 64 --gap 0.5 -j 1)

"$SONIFY" album "$T/list.txt" "${opts[@]}" -o "$T/single" >"$T/single.out"
grep -q "6 of 6 tracks (0 kept, 0 redone, 0 failed)" "$T/single.out" || fail "summary: $(cat "$T/single.out")"

"$SONIFY" album prepare "$T/list.txt" "${opts[@]}" -o "$T/d" >/dev/null
[ -f "$T/d/album-plan.json" ] || fail "prepare wrote no plan"
"$SONIFY" album "$T/list.txt" "${opts[@]}" -o "$T/d" --shard 0/3 >"$T/s0.out" &
p0=$!
"$SONIFY" album "$T/list.txt" "${opts[@]}" -o "$T/d" --shard 1/3 --stop-after 1 >"$T/s1.out" 2>"$T/s1.err" &
p1=$!
"$SONIFY" album "$T/list.txt" "${opts[@]}" -o "$T/d" --shard 2/3 >"$T/s2.out" &
p2=$!
wait $p0 || fail "shard 0 failed"
! wait $p1 || fail "shard 1 with --stop-after should stop with an error"
wait $p2 || fail "shard 2 failed"
[ ! -e "$T/d/manifest.json" ] || fail "a shard wrote manifest.json"
[ ! -e "$T/d/album.wav" ] || fail "a shard wrote album.wav"

! "$SONIFY" album merge "$T/d" 2>"$T/m.err" >/dev/null || fail "merge accepted an unfinished shard"
one_line_error "$T/m.err" "shard 1/3 is unfinished"
"$SONIFY" album "$T/list.txt" "${opts[@]}" -o "$T/d" --shard 1/3 >"$T/s1.out"
grep -q "2 of 2 tracks (1 kept, 0 redone, 0 failed)" "$T/s1.out" || fail "resume: $(cat "$T/s1.out")"

"$SONIFY" album merge "$T/d" >"$T/merge.out"
grep -q "merged 6 of 6 tracks" "$T/merge.out" || fail "merge: $(cat "$T/merge.out")"
compare() {
  for f in "$T/single"/*; do
    name=$(basename "$f")
    cmp -s "$f" "$T/d/$name" || fail "$name differs between the single run and the merged shards"
  done
}
compare

# A real SIGKILL while shard 2 renders a track again: merge names the missing file, the
# rerun redoes only that track and sweeps the dead process's partial files.
rm "$T/d/track_06".*
"$SONIFY" album "$T/list.txt" "${opts[@]}" -o "$T/d" --shard 2/3 >/dev/null 2>&1 &
pk=$!
for _ in $(seq 1 400); do
  ls -a "$T/d" | grep -q '^\.track_06\.partial-' && break
  sleep 0.05
done
kill -9 $pk
wait $pk 2>/dev/null || true
! "$SONIFY" album merge "$T/d" 2>"$T/m.err" >/dev/null || fail "merge accepted a missing track"
one_line_error "$T/m.err" "shard 2/3: track_06.mid is missing"
"$SONIFY" album "$T/list.txt" "${opts[@]}" -o "$T/d" --shard 2/3 >"$T/s2.out"
grep -q "2 of 2 tracks (1 kept, 1 redone, 0 failed)" "$T/s2.out" || fail "after kill: $(cat "$T/s2.out")"
if ls -a "$T/d" | grep -q 'partial-\|\.tmp-'; then fail "partial files left: $(ls -a "$T/d")"; fi
"$SONIFY" album merge "$T/d" >/dev/null
compare

# Refusals, each one line naming the shard or track.
mv "$T/d/shard-0-of-3.json" "$T/s0.json"
! "$SONIFY" album merge "$T/d" 2>"$T/m.err" >/dev/null || fail "merge accepted a missing shard"
one_line_error "$T/m.err" "shard 0/3 is missing"
mv "$T/s0.json" "$T/d/shard-0-of-3.json"
cp "$T/d/shard-2-of-3.json" "$T/s2.json"
sed -i 's/"model_sha256": "\(.\)/"model_sha256": "0\1/' "$T/d/shard-2-of-3.json"
! "$SONIFY" album merge "$T/d" 2>"$T/m.err" >/dev/null || fail "merge accepted another model"
one_line_error "$T/m.err" "shard 2/3 differs from shard 0/3 in model_sha256"
cp "$T/s2.json" "$T/d/shard-2-of-3.json"
printf x >>"$T/d/track_04.raw.wav"
! "$SONIFY" album merge "$T/d" 2>"$T/m.err" >/dev/null || fail "merge accepted a changed WAV"
one_line_error "$T/m.err" "shard 0/3: track_04.raw.wav differs"
! "$SONIFY" album "$T/list.txt" "${opts[@]}" -o "$T/d" --shard 3/3 2>"$T/m.err" || fail "--shard 3/3 accepted"
one_line_error "$T/m.err" "--shard 3/3: expected K/N"
echo "ok: 3 shards merged byte-identical to -j 1; resume after --stop-after and SIGKILL; 4 refusals"
