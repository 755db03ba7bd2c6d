#!/bin/bash
# Builds the libFuzzer harnesses (fuzz/) with clang, ASan and UBSan in build/fuzz, seeds
# each corpus from the fixtures, and runs every harness for SECONDS (default 60) on one
# core each. Crashes are written to build/fuzz/crashes/HARNESS/; the script exits non-zero
# if any harness found one. Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
fixtures=${SONIFY_FIXTURES:-../shared/fixtures}
all=(fuzz_safetensors fuzz_config fuzz_tokenizer fuzz_midi fuzz_features)
if [ $# -gt 0 ]; then harnesses=("$@"); else harnesses=("${all[@]}"); fi

CC=clang CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSONIFY_FUZZ=ON \
  -DSONIFY_WITH_TORCH=OFF -DSONIFY_BUILD_TESTS=OFF >/dev/null
cmake --build build/fuzz -j 2 --target "${harnesses[@]}"

seed() {  # harness -> corpus directory filled from the fixtures
  local dir=build/fuzz/corpus/$1
  mkdir -p "$dir"
  case $1 in
    fuzz_safetensors)
      for m in "$fixtures"/models/*/; do head -c 65536 "$m/model.safetensors" > "$dir/$(basename "$m")"; done ;;
    fuzz_config)
      for m in "$fixtures"/models/*/; do cp "$m/config.json" "$dir/$(basename "$m").json"; done ;;
    fuzz_tokenizer)
      for t in "$fixtures"/models/*/tokenizer.json data/models/*/tokenizer.json; do
        [ -f "$t" ] && { cat "$t"; printf '\0Once upon a time, h\xc3\xa9llo 123!'; } > "$dir/$(echo "$t" | md5sum | cut -c1-8)"
      done ;;
    fuzz_midi) find tests samples data -name '*.mid' -size -64k 2>/dev/null | head -20 | while read -r f; do cp "$f" "$dir/"; done
      printf 'MThd\0\0\0\6\0\1\0\1\0\140MTrk\0\0\0\14\0\220\74\100\140\200\74\100\0\377\57\0' > "$dir/one-note.mid" ;;
    fuzz_features)  # a real features JSON, from any sonify built beside this one
      for bin in build/release/tools/sonify/sonify build/asan/tools/sonify/sonify; do
        [ -x "$bin" ] && "$bin" analyze --no-cache -q --model "$fixtures/models/tiny-gpt2-random" -o "$dir/gpt2.json" && break
      done ;;
  esac
}

failed=0
for h in "${harnesses[@]}"; do
  seed "$h"
  mkdir -p "build/fuzz/crashes/$h"
  echo "== $h: $seconds s"
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build/fuzz/fuzz/$h" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=262144 -timeout=10 \
    -artifact_prefix="build/fuzz/crashes/$h/" -print_final_stats=1 "build/fuzz/corpus/$h" 2>"build/fuzz/$h.log"; then
    failed=1
    echo "   CRASH: see build/fuzz/$h.log and build/fuzz/crashes/$h/"
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)|cov: ' "build/fuzz/$h.log" | tail -4
done
exit $failed
