#!/usr/bin/env bash
# Quick start 2: install what is missing, build, and run the whole test suite:
# every Catch2 test through ctest in the release build, then the tests that do not
# need libtorch again under AddressSanitizer + UBSan. Exits non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/common.sh"

# The test oracles run on Debian's Python with numpy/scipy/sklearn/mido; the report tests
# load pages in headless Chromium and check them with html5lib and PIL.
ensure_packages "${SONIFY_PACKAGES[@]}" python3 python3-numpy python3-scipy python3-sklearn python3-mido python3-regex python3-yaml \
  chromium python3-html5lib python3-pil clang-format

# Every C++ file follows the checked-in .clang-format.
"$ROOT/scripts/check_format.sh"

build_preset release
(cd "$ROOT" && ctest --preset release)

build_preset asan
(cd "$ROOT" && ctest --preset asan)
