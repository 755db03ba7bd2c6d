#!/usr/bin/python3
"""Piano rolls of prompt tracks (Debian python3-mido and python3-matplotlib).

  scripts/prompt_rolls.py OUT.png TRACK.mid [TRACK.mid ...]

One panel per MIDI file, one colour per part, note opacity following velocity; the
title gives the tempo, mode and tension from the provenance JSON beside the MIDI."""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mido  # noqa: E402


def notes(path):
    mid = mido.MidiFile(path)
    out = []
    for tr in mid.tracks:
        t, name, opened = 0.0, None, {}
        for m in tr:
            t += m.time
            if m.type == "track_name" and name is None:
                name = m.name
            if m.type == "note_on" and m.velocity > 0:
                opened[(m.channel, m.note)] = (t, m.velocity)
            elif m.type in ("note_on", "note_off") and (m.channel, m.note) in opened:
                s, v = opened.pop((m.channel, m.note))
                out.append((name or "?", s / mid.ticks_per_beat, (t - s) / mid.ticks_per_beat, m.note, v))
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    files = argv[1:]
    fig, axes = plt.subplots(len(files), 1, figsize=(12, 2.6 * len(files)), squeeze=False)
    for ax, f in zip(axes[:, 0], files):
        ns = notes(f)
        parts = sorted({n[0] for n in ns})
        colours = dict(zip(parts, plt.cm.tab10.colors))
        for name, start, length, pitch, vel in ns:
            ax.broken_barh([(start, length)], (pitch - 0.4, 0.8), color=colours[name], alpha=0.25 + 0.75 * vel / 127)
        title = os.path.basename(f)
        j = f[:-4] + ".json"
        if os.path.exists(j):
            meta = json.load(open(j))
            t = (meta.get("direction") or {}).get("tension")
            title += f"  {meta['tempo_bpm']:.0f} BPM {meta['key']['root']} {meta['key']['mode']}" + (
                f" tension {t:+.2f}" if t is not None else "") + f"  {meta['prompt'][:60]}"
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("beats", fontsize=7)
        ax.legend(handles=[matplotlib.patches.Patch(color=colours[p], label=p) for p in parts], fontsize=6,
                  loc="upper right")
    fig.tight_layout()
    fig.savefig(argv[0], dpi=80)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
