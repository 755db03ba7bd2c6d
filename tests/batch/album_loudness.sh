#!/usr/bin/env bash
# Issue 19: album mastering. An album of a calm and a tense prompt keeps the loudness
# difference the synth gave them (one album gain, not one per track), measures -14 +- 0.5
# LUFS as a whole, and every track and album.wav stay at or under -1 dBTP (4x
# oversampled): measured by libebur128 (the manifest) and by an independent numpy/scipy
# BS.1770-4 oracle (tests/oracles/loudness.py).
# Usage: tests/batch/album_loudness.sh SONIFY_BIN
set -euo pipefail
SONIFY=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME=$T/cache
printf '%s\n' "The baby slept softly in the warm quiet room." \
  "The soldiers screamed as the bombs exploded and the city burned." >"$T/list.txt"
"$SONIFY" album "$T/list.txt" --model "$ROOT/data/models/sonify-tiny" --pca-sentences 64 --gap 1 \
  -o "$T/a" >/dev/null 2>&1
/usr/bin/python3 "$ROOT/tests/oracles/loudness.py" "$T/a/album.wav" "$T/a/track_01.wav" "$T/a/track_02.wav" \
  "$T/a/track_01.raw.wav" "$T/a/track_02.raw.wav" >"$T/oracle.txt"
/usr/bin/python3 - "$T/a/manifest.json" "$T/oracle.txt" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
o = [list(map(float, line.split()[1:])) for line in open(sys.argv[2])]
album, t1, t2, raw1, raw2 = o
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)
check(abs(album[0] + 14) <= 0.5, f"album loudness {album[0]} LUFS (oracle) is not -14 +- 0.5")
check(abs(m["master"]["loudness_lufs"] + 14) <= 0.5, f"album loudness {m['master']['loudness_lufs']} (manifest)")
check(abs(m["master"]["loudness_lufs"] - album[0]) <= 0.1, "libebur128 and the oracle disagree on the album")
for name, tp in (("album.wav", album[1]), ("track_01.wav", t1[1]), ("track_02.wav", t2[1])):
    check(tp <= -1.0, f"{name}: true peak {tp} dBTP (oracle) above -1")
check(m["master"]["true_peak_dbtp"] <= -1.0, "album true peak (manifest) above -1")
for k, t in enumerate(m["tracks"]):
    check(t["master"]["true_peak_dbtp"] <= -1.0, f"track {k + 1} true peak (manifest) above -1")
raw_diff, mastered_diff = raw2[0] - raw1[0], t2[0] - t1[0]
manifest_diff = m["tracks"][1]["master"]["loudness_lufs"] - m["tracks"][0]["master"]["loudness_lufs"]
check(abs(raw_diff) >= 1.0, f"the prompts differ by only {raw_diff:.2f} LU before mastering: pick others")
check(abs(mastered_diff - raw_diff) <= 0.5, f"difference {raw_diff:.2f} LU raw, {mastered_diff:.2f} LU mastered")
check(abs(manifest_diff - mastered_diff) <= 0.1, "libebur128 and the oracle disagree on the tracks")
if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
print(f"ok: album {album[0]:.2f} LUFS, {album[1]:.2f} dBTP; calm vs tense {raw_diff:+.2f} LU raw, "
      f"{mastered_diff:+.2f} LU mastered; tracks {t1[1]:.2f} / {t2[1]:.2f} dBTP")
PY
