#!/usr/bin/python3
"""Piano roll (from the MIDI, read with mido) and spectrogram (from the WAV) of one
`sonify weights` result, in one PNG, to look at the music rather than only count it.

  scripts/music_pictures.py DIR/NAME.mid [DIR/NAME.wav] -o OUT.png [--title TEXT]

Needs Debian's python3-mido, python3-numpy, python3-scipy and python3-matplotlib.
The piano roll draws each track in its own colour (drums as dots at the bottom), with
the section markers as vertical lines; the spectrogram is the mono mix, 0-8 kHz, in dB.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mido  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "oracles"))
from music_metrics import read_midi  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mid")
    ap.add_argument("wav", nargs="?")
    ap.add_argument("-o", required=True)
    ap.add_argument("--title", default=None)
    a = ap.parse_args()
    mid, ppq, tracks, controls, tempos, markers = read_midi(a.mid)
    us = tempos[0][1] if tempos else 500000
    sec = us / 1e6 / ppq
    rows = 2 if a.wav else 1
    fig, axes = plt.subplots(rows, 1, figsize=(18, 5 * rows), sharex=True, squeeze=False)
    ax = axes[0][0]
    colours = plt.cm.tab10.colors
    for i, t in enumerate(tracks):
        if not t["notes"]:
            continue
        c = colours[i % len(colours)]
        if t["channel"] == 9:
            xs = [n[0] * sec for n in t["notes"]]
            ys = [10 + (n[2] - 35) * 0.5 for n in t["notes"]]
            ax.scatter(xs, ys, s=2, color="k", label=t["name"])
            continue
        for start, end, pitch, vel, ch in t["notes"]:
            ax.plot([start * sec, end * sec], [pitch, pitch], color=c, linewidth=1.5, alpha=0.3 + 0.7 * vel / 127)
        ax.plot([], [], color=c, label=t["name"])
    for tick, text in markers:
        ax.axvline(tick * sec, color="grey", linestyle="--", linewidth=0.8)
        ax.text(tick * sec, 108, text, fontsize=7, rotation=90, va="top")
    ax.set_ylabel("MIDI pitch (drums at the bottom)")
    ax.set_ylim(5, 110)
    ax.legend(loc="upper right", fontsize=7, ncol=4)
    ax.set_title(a.title or os.path.basename(a.mid))
    if a.wav:
        from scipy import signal
        from scipy.io import wavfile
        rate, data = wavfile.read(a.wav)
        x = data.astype(np.float64)
        if x.ndim > 1:
            x = x.mean(axis=1)
        x /= max(1.0, np.abs(x).max())
        f, t, s = signal.spectrogram(x, fs=rate, nperseg=2048, noverlap=1024)
        keep = f <= 8000
        axes[1][0].pcolormesh(t, f[keep], 10 * np.log10(s[keep] + 1e-12), shading="auto", vmin=-120, vmax=-30)
        axes[1][0].set_ylabel("Hz")
        axes[1][0].set_xlabel("seconds")
    else:
        ax.set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(a.o, dpi=80)
    return 0


if __name__ == "__main__":
    sys.exit(main())
