#!/usr/bin/env bash
# Benchmark: `sonify render` against the FluidSynth command line on the same 4-minute,
# 4-track MIDI file and the same soundfont (FluidR3_GM), runs alternating in the same
# session. Target: >= 1.5x the CLI's speed on two cores, never slower. Also compares
# the audio: sonify's parallel render against its one-synth render and against the CLI.
# Usage: bench/render.sh [BUILD_DIR] [RUNS]   (default build/release, 3; build first)
# COMPETE=1 keeps one core busy (a spinning process) for the whole of the runs: the issue's
# "never slower than the CLI on a loaded machine".
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
RUNS=${2:-3}
SONIFY=$BUILD/tools/sonify/sonify
SF2=/usr/share/sounds/sf2/FluidR3_GM.sf2
OUT=$BUILD/bench/render
mkdir -p "$OUT"

# The fluidsynth program is only needed here, not by sonify.
if ! command -v fluidsynth >/dev/null; then
  echo "installing Debian's fluidsynth (the command line, for the baseline) ..." >&2
  sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends fluidsynth >/dev/null
fi
[ -f "$SF2" ] || { echo "no $SF2: apt-get install fluid-soundfont-gm" >&2; exit 1; }
MIDI=$OUT/house-4min.mid
/usr/bin/python3 "$ROOT/bench/house_midi.py" "$MIDI"

# "wall_seconds cpu_seconds" of a command (cpu = user + system, all threads).
timed() {
  /usr/bin/time -f '%e %U %S' -o "$OUT/time.txt" "$@" >/dev/null 2>&1
  awk '{ printf "%s %.2f", $1, $2 + $3 }' "$OUT/time.txt"
}
cli=(); ours=(); one=()
if [ "${COMPETE:-0}" = 1 ]; then
  /usr/bin/python3 -c 'while True: pass' &
  spinner=$!
  trap 'kill $spinner 2>/dev/null' EXIT
  echo "a competing process spins on one core (pid $spinner)" >&2
fi
echo "load before: $(uptime)" >&2
for i in $(seq "$RUNS"); do
  cli+=("$(timed fluidsynth -ni -q -r 44100 -F "$OUT/cli.wav" "$SF2" "$MIDI")")
  ours+=("$(timed "$SONIFY" render "$MIDI" -o "$OUT/ours.wav" --format f32 --soundfont "$SF2")")
  one+=("$(timed "$SONIFY" render "$MIDI" -o "$OUT/ours1.wav" --format f32 --soundfont "$SF2" --synths 1)")
  echo "run $i (wall cpu, s): cli ${cli[-1]}, sonify ${ours[-1]}, sonify --synths 1 ${one[-1]}" >&2
done
echo "load after: $(uptime)" >&2
[ -n "${spinner:-}" ] && kill "$spinner" 2>/dev/null && trap - EXIT
"$SONIFY" render "$MIDI" -o "$OUT/ours-again.wav" --format f32 --soundfont "$SF2" >/dev/null
cmp -s "$OUT/ours.wav" "$OUT/ours-again.wav" && same=yes || same=NO

/usr/bin/python3 - "$RUNS" "$OUT" "$same" "$(nproc)" "${cli[@]}" "${ours[@]}" "${one[@]}" <<'PY'
import statistics, sys
import numpy as np
from scipy.io import wavfile
runs, out, same, cores = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
pairs = [x.split() for x in sys.argv[5:]]
wall = [float(p[0]) for p in pairs]
cpu = [float(p[1]) for p in pairs]
med = lambda v, k: statistics.median(v[k * runs:(k + 1) * runs])
cli, ours, one = med(wall, 0), med(wall, 1), med(wall, 2)
cli_cpu, ours_cpu, one_cpu = med(cpu, 0), med(cpu, 1), med(cpu, 2)
_, c = wavfile.read(out + "/cli.wav")
_, a = wavfile.read(out + "/ours.wav")
_, b = wavfile.read(out + "/ours1.wav")
c = c.astype(np.float64) / 32768.0
audio_s = len(a) / 44100
def corr(x, y):
    n = min(len(x), len(y)); x, y = x[:n].ravel(), y[:n].ravel()
    return float(np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y)))
d = np.abs(a.astype(np.float64) - b).max()
print(f"MIDI: 4 min, 4 tracks; audio written {audio_s:.1f} s; {cores} cores; runs: {runs} alternating, medians")
print(f"fluidsynth -ni -F (CLI, 1 core):  wall {cli:.2f} s  ({240 / cli:.1f}x real time)  cpu {cli_cpu:.2f} s")
print(f"sonify render --synths 1:         wall {one:.2f} s  ({240 / one:.1f}x real time)  cpu {one_cpu:.2f} s  wall ratio CLI/ours {cli / one:.2f}x")
print(f"sonify render (parallel synths):  wall {ours:.2f} s  ({240 / ours:.1f}x real time)  cpu {ours_cpu:.2f} s  wall ratio CLI/ours {cli / ours:.2f}x   target >= 1.5x  {'OK' if cli / ours >= 1.5 else 'MISSED'}")
print(f"parallel vs 1 synth: correlation {corr(a, b):.6f}, max abs difference {d:.4f} (peak 0.891)")
# The CLI's MIDI player starts events a few 64-frame blocks later: align on 10 s of
# music first, then correlate the whole file.
from scipy.signal import correlate
seg = slice(30 * 44100, 40 * 44100)
xc = correlate(c[seg, 0], b[seg, 0].astype(np.float64), mode="full", method="fft")
lag = int(np.argmax(xc)) - (seg.stop - seg.start - 1)
cc = c[lag:] if lag >= 0 else c
bb = b if lag >= 0 else b[-lag:]
print(f"sonify (1 synth) vs CLI: CLI later by {lag} frames; correlation after alignment {corr(bb, cc):.4f}")
aa = a if lag >= 0 else a[-lag:]
print(f"sonify (parallel) vs CLI: correlation after alignment {corr(aa, cc):.4f}")
print(f"two parallel runs byte-identical: {same}")
PY
echo "competing process on one core: $([ "${COMPETE:-0}" = 1 ] && echo yes || echo no)"
