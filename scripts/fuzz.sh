#!/bin/bash
# Builds the libFuzzer harnesses (fuzz/) with clang, ASan and UBSan in build/fuzz and runs
# each one on one core. The working corpus build/fuzz/corpus/HARNESS starts from the
# checked-in fuzz/seeds/HARNESS (hand-made) and fuzz/corpus/HARNESS.tar.gz (minimised by
# earlier runs) plus seeds from the fixtures. Crashes are written to
# build/fuzz/crashes/HARNESS/; the script exits non-zero if any harness found one.
#
#   scripts/fuzz.sh [--cpu] [--minimize] [SECONDS] [HARNESS...]
#     SECONDS     run time per harness (default 60), wall-clock time unless --cpu
#     --cpu       SECONDS counts the harness's own CPU time (utime + stime), so a run at
#                 `nice` on a busy machine still gets its full budget; stopped with SIGINT,
#                 which makes libFuzzer print its final stats. The per-input timeout is
#                 then 120 s instead of 10: libFuzzer's is wall-clock time, and a starved
#                 process at nice 15 on a loaded machine took 12 s over a 36 ms input.
#     --no-build  run the harnesses already in build/fuzz as they are
#     --minimize  afterwards merge the working corpus (-merge=1) and keep its inputs of at
#                 most 16 KiB in fuzz/corpus/HARNESS.tar.gz (a reproducible tar: sorted
#                 names, no times or owners), which the test suite replays with the seeds
#                 and fuzz/regressions (ctest "fuzz corpus replay")
# Figures per harness go to build/fuzz/HARNESS.log and build/fuzz/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
cpu=0 minimize=0 build=1
while [[ ${1:-} == --* ]]; do
  case $1 in --cpu) cpu=1 ;; --minimize) minimize=1 ;; --no-build) build=0 ;; *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;; esac
  shift
done
seconds=${1:-60}
shift || true
fixtures=${SONIFY_FIXTURES:-../shared/fixtures}
all=(fuzz_safetensors fuzz_config fuzz_tokenizer fuzz_midi fuzz_features fuzz_gguf fuzz_album_list)
if [ $# -gt 0 ]; then harnesses=("$@"); else harnesses=("${all[@]}"); fi
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang)" >&2; exit 2; }

if [ $build = 1 ]; then
  CC=clang CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSONIFY_FUZZ=ON \
    -DSONIFY_WITH_TORCH=OFF -DSONIFY_BUILD_TESTS=OFF >/dev/null
  cmake --build build/fuzz -j 2 --target "${harnesses[@]}"
fi

seed() {  # harness -> working corpus: the checked-in one plus seeds from the fixtures
  local dir=build/fuzz/corpus/$1
  mkdir -p "$dir"
  [ -d "fuzz/seeds/$1" ] && cp -n fuzz/seeds/"$1"/* "$dir/"
  [ -f "fuzz/corpus/$1.tar.gz" ] && tar -xzf "fuzz/corpus/$1.tar.gz" -C "$dir"
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

cpu_seconds() {  # utime + stime of a process, in whole seconds
  local f
  read -ra f < "/proc/$1/stat" 2>/dev/null || { echo 0; return; }
  echo $(( (f[13] + f[14]) / $(getconf CLK_TCK) ))
}

failed=0
mkdir -p build/fuzz
for h in "${harnesses[@]}"; do
  seed "$h"
  mkdir -p "build/fuzz/crashes/$h"
  wall=$seconds timeout=10
  [ $cpu = 1 ] && wall=$((seconds * 20)) timeout=120
  echo "== $h: $seconds s $([ $cpu = 1 ] && echo of CPU || echo wall)"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build/fuzz/fuzz/$h" -max_total_time="$wall" -rss_limit_mb=2048 -max_len=262144 -timeout=$timeout \
    -artifact_prefix="build/fuzz/crashes/$h/" -print_final_stats=1 "build/fuzz/corpus/$h" 2>"build/fuzz/$h.log" &
  pid=$!
  used=0
  while kill -0 $pid 2>/dev/null; do  # the last reading before the harness stops
    sleep 5
    now=$(cpu_seconds $pid)
    [ "$now" -gt "$used" ] && used=$now
    [ $cpu = 1 ] && [ "$used" -ge "$seconds" ] && { kill -INT $pid 2>/dev/null; break; }
  done
  rc=0
  wait $pid || rc=$?
  # 72 is libFuzzer's exit code after SIGINT (-interrupted_exitcode): a stop, not a crash.
  if [ $rc -ne 0 ] && [ $rc -ne 72 ]; then
    failed=1
    echo "   CRASH (exit $rc): see build/fuzz/$h.log and build/fuzz/crashes/$h/"
  fi
  stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "build/fuzz/$h.log" | tr '\n' ' ')
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "build/fuzz/$h.log" | tail -1)
  line="$h cpu_s=$used exit=$rc $cov $stats"
  echo "   $line"
  echo "$(date -u +%FT%TZ) $line" >> build/fuzz/summary.txt
  if [ $minimize = 1 ]; then
    rm -rf "build/fuzz/min/$h" && mkdir -p "build/fuzz/min/$h"
    "build/fuzz/fuzz/$h" -merge=1 -max_len=262144 -timeout=$timeout -rss_limit_mb=2048 "build/fuzz/min/$h" \
      "build/fuzz/corpus/$h" 2>>"build/fuzz/$h.log"
    keep=build/fuzz/keep/$h
    rm -rf "$keep" && mkdir -p "$keep" fuzz/corpus
    find "build/fuzz/min/$h" -type f -size -16385c -exec cp {} "$keep/" \;
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$keep" -c . | gzip -n -9 > "fuzz/corpus/$h.tar.gz"
    echo "   minimised corpus: $(ls "$keep" | wc -l) inputs, fuzz/corpus/$h.tar.gz $(du -h "fuzz/corpus/$h.tar.gz" | cut -f1)"
  fi
done
exit $failed
