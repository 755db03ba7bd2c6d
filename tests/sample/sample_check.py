#!/usr/bin/python3
"""Independent checks of `sonify sample` output with mido (issue 15).

  sample_check.py valid FILE.mid...
      Every note_on has its note_off on the same channel and pitch, no pitch is struck
      again while it sounds, every note has a positive length, and pitches are 0..127.
      Prints the note count per file.
  sample_check.py bach CORPUS_DIR FILE.mid...
      Pitch-class histograms (notes counted, as MusPy's pitch_class_histogram does; a
      duration-weighted one is dominated by a few held notes), for each sample its distance
      to the corpus histogram
      (the best of the 12 transpositions: a chorale in F# minor is still Bach) against the
      distance to the uniform histogram of a twelve-tone row. Prints one line per sample
      and the share that is closer to Bach; exits 1 when under 80 %.
  sample_check.py rows OUT_DIR N
      Writes N seeded twelve-tone pieces (each a few random rows of all twelve pitch
      classes in random octaves, 8th notes), the control the bach check must reject.
"""
import os
import random
import sys

import mido


def notes(path):
    """(start_tick, end_tick, pitch, channel) of every note; raises on an invalid pairing."""
    mid = mido.MidiFile(path)
    out = []
    for t, track in enumerate(mid.tracks):
        now, sounding = 0, {}
        for msg in track:
            now += msg.time
            if msg.type not in ("note_on", "note_off"):
                continue
            key = (msg.channel, msg.note)
            if not 0 <= msg.note <= 127:
                raise ValueError("%s: pitch %d out of range" % (path, msg.note))
            if msg.type == "note_on" and msg.velocity > 0:
                if key in sounding:
                    raise ValueError("%s: track %d pitch %d struck again while sounding at tick %d"
                                     % (path, t, msg.note, now))
                sounding[key] = now
            else:
                if key not in sounding:
                    raise ValueError("%s: track %d note_off of pitch %d without its note_on at tick %d"
                                     % (path, t, msg.note, now))
                start = sounding.pop(key)
                if now <= start:
                    raise ValueError("%s: pitch %d has length %d" % (path, msg.note, now - start))
                out.append((start, now, msg.note, msg.channel))
        if sounding:
            raise ValueError("%s: track %d ends with %d notes sounding" % (path, t, len(sounding)))
    return out


def pc_histogram(note_list):
    h = [0.0] * 12
    for start, end, pitch, _ in note_list:
        h[pitch % 12] += 1
    total = sum(h) or 1.0
    return [x / total for x in h]


def l1(a, b):
    return sum(abs(x - y) for x, y in zip(a, b))


def write_rows(out_dir, count):
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(12)
    for i in range(count):
        mid = mido.MidiFile(type=1, ticks_per_beat=480)
        track = mido.MidiTrack()
        mid.tracks.append(track)
        for _ in range(4):
            row = list(range(12))
            rng.shuffle(row)
            for pc in row:
                pitch = 48 + pc + 12 * rng.randrange(3)
                track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
                track.append(mido.Message("note_off", note=pitch, velocity=0, time=240))
        mid.save(os.path.join(out_dir, "row-%02d.mid" % i))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "rows":
        write_rows(args[0], int(args[1]))
        return
    if mode == "valid":
        for path in args:
            n = notes(path)
            if not n:
                raise SystemExit("%s: no notes" % path)
            print("%s: %d notes, pitches %d..%d" % (path, len(n), min(x[2] for x in n), max(x[2] for x in n)))
        return
    corpus_dir, samples = args[0], args[1:]
    corpus = [0.0] * 12
    for name in sorted(os.listdir(corpus_dir)):
        if name.endswith(".mid"):
            h = pc_histogram(notes(os.path.join(corpus_dir, name)))
            # Each chorale rotated to C by its most used pitch class, so keys do not blur the profile.
            top = max(range(12), key=lambda k: h[k])
            corpus = [c + h[(k + top) % 12] for k, c in enumerate(corpus)]
    s = sum(corpus)
    corpus = [c / s for c in corpus]
    uniform = [1 / 12] * 12
    closer = 0
    for path in samples:
        h = pc_histogram(notes(path))
        to_bach = min(l1([h[(k + r) % 12] for k in range(12)], corpus) for r in range(12))
        to_uniform = l1(h, uniform)
        closer += to_bach < to_uniform
        print("%s: L1 to Bach %.3f, to twelve-tone %.3f" % (os.path.basename(path), to_bach, to_uniform))
    share = closer / len(samples)
    print("closer to Bach: %d of %d (%.0f %%)" % (closer, len(samples), 100 * share))
    sys.exit(0 if share >= 0.8 else 1)


if __name__ == "__main__":
    main()
