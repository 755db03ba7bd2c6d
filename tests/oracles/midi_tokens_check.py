#!/usr/bin/python3
"""Oracle for the MIDILike round trip (issue 15), with mido only.

  midi_tokens_check.py ORIGINAL.mid ROUNDTRIP.mid [STEPS_PER_BEAT]

Reads ORIGINAL and works out what a 16th-grid event tokenization must keep: every
non-drum note's pitch, onset and end rounded to the nearest grid step, halves up (end at least one
step after the onset), one sounding note per pitch (a strike ends the note of the same
pitch still sounding; of two strikes on one step the later in file order stays). Reads
ROUNDTRIP's notes on the same grid and prints JSON: counts and the first differences.
"""
import json
import math
import sys

import mido


def notes(path):
    mid = mido.MidiFile(path)
    out = []
    for track in mid.tracks:
        now, open_ = 0, {}
        for m in track:
            now += m.time
            if m.type == "note_on" and m.velocity > 0:
                open_.setdefault((m.channel, m.note), []).append(now)
            elif m.type in ("note_off", "note_on"):
                starts = open_.get((m.channel, m.note))
                if starts:
                    out.append((starts.pop(0), now, m.note, m.channel))
    return mid.ticks_per_beat, out


def quantised(path, spb, keep_drums=False):
    """Grid notes; drums (channel 10) left out unless keep_drums (a drum model reads them)."""
    ppq, raw = notes(path)
    step = ppq / spb
    placed = []
    for on, off, pitch, channel in raw:
        if channel == 9 and not keep_drums:
            continue
        a = math.floor(on / step + 0.5)  # halves round up (ticks are never negative)
        b = math.floor(off / step + 0.5)
        placed.append([a, max(b, a + 1), pitch])
    placed.sort(key=lambda n: (n[0], n[2]))
    keep = [True] * len(placed)
    sounding = {}
    for i, n in enumerate(placed):
        j = sounding.get(n[2])
        if j is not None and placed[j][1] > n[0]:
            if placed[j][0] == n[0]:
                keep[j] = False
            else:
                placed[j][1] = n[0]
        sounding[n[2]] = i
    return sorted(tuple(n) for n, k in zip(placed, keep) if k)


def main():
    spb = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    want = quantised(sys.argv[1], spb)
    got = quantised(sys.argv[2], spb)
    diff = sorted(set(want) ^ set(got))
    json.dump({"expected": len(want), "got": len(got), "equal": want == got, "differences": diff[:5]}, sys.stdout)


if __name__ == "__main__":
    main()
