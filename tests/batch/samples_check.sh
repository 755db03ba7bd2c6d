#!/usr/bin/env bash
# Issue 19: scripts/regenerate_samples.sh --check passes on unchanged code and fails,
# naming the sample and the notes that changed, when one genre parameter changes (here
# through a user genre override file, no code change: SONIFY_GENRE_CONFIG_DIR).
# Usage: tests/batch/samples_check.sh BUILD_DIR
set -euo pipefail
BUILD=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME=$T/cache
fail() { echo "FAIL: $*" >&2; exit 1; }
"$ROOT/scripts/regenerate_samples.sh" --check --only acid "$BUILD" >"$T/same.out" 2>&1 ||
  fail "unchanged code fails the check (run scripts/regenerate_samples.sh --update after a deliberate change): $(cat "$T/same.out")"
grep -q "sample acid: unchanged" "$T/same.out" || fail "$(cat "$T/same.out")"
mkdir "$T/genres"
echo '{"genre": "acid", "defaults": {"accent_threshold": 0.3}}' >"$T/genres/acid.json"
if SONIFY_GENRE_CONFIG_DIR=$T/genres "$ROOT/scripts/regenerate_samples.sh" --check --only acid "$BUILD" \
  >"$T/changed.out" 2>&1; then
  fail "a changed genre parameter passes the check: $(cat "$T/changed.out")"
fi
grep -q "^sample acid changed" "$T/changed.out" || fail "the sample is not named: $(cat "$T/changed.out")"
grep -q "notes changed" "$T/changed.out" || fail "no note count: $(cat "$T/changed.out")"
echo "ok: unchanged passes; accent_threshold 0.6 -> 0.3 fails:"
grep -v "^==" "$T/changed.out"
