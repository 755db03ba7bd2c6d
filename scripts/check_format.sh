#!/usr/bin/env bash
# Fails (listing the files) when a C++ file of ours does not follow the checked-in
# .clang-format. Generated files (first line says "Do not edit") are left alone.
# Fix with: scripts/check_format.sh --fix
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
mapfile -t files < <(find src tools include tests bench fuzz -type f \( -name '*.cpp' -o -name '*.h' \) 2>/dev/null |
  LC_ALL=C sort | while read -r f; do head -1 "$f" | grep -q 'Do not edit' || echo "$f"; done)
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} file(s) differ from .clang-format (run scripts/check_format.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files follow .clang-format"
