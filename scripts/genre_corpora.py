#!/usr/bin/python3
"""Seeded generators of genre corpora for `sonify train --midi` (issue 15, item 2).

  genre_corpora.py GENRE OUT_DIR [--count N] [--seed S]
  genre_corpora.py all OUT_DIR [--count N] [--seed S]     (OUT_DIR/GENRE/ for each genre)

GENRE is rock, metal, pop, hiphop or twelve-tone. Writes N MIDI files (default 200),
GENRE-0000.mid ..., type 1, 480 ticks a quarter, every onset and end on the 16th grid. The
seed notebook wrote such generators for the genres without free MIDI; these are written from
their idioms, not copied:

  rock         major keys, I-V-vi-IV / I-IV-V-IV / I-bVII-IV-I / vi-IV-I-V, a rhythm part of
               root-position triads struck on every 8th, a bass on the roots in quarters
  metal        E or D minor (aeolian with the phrygian b2), a palm-muted low root chugging in
               16ths under power chords (root, fifth, octave) on the accents, chromatic and
               tritone riffs
  pop          major keys, a singable melody (steps and small leaps on the pentatonic, 8ths
               and quarters with syncopation) over whole-bar triads of the I-V-vi-IV family
  hiphop       drums only, GM drum keys (kick 36, snare 38, clap 39, closed hat 42, open
               hat 46) on the drum channel (10): train --midi reads a corpus of drums alone
               as a drum model (the keys are its notes) and sample plays it on a kit
  twelve-tone  the control: rows (a seeded permutation of the 12 pitch classes) and their
               inversions, retrogrades and retrograde inversions at random transpositions,
               each pitch in a random octave, irregular durations, no key

Each file's generator is random.Random("GENRE:SEED:INDEX"), so a file depends only on its
genre, seed and index: the same arguments give the same bytes, and --count 50 writes the
first 50 files of --count 200. Needs python3-mido (training data only; sonify never runs it).
"""
import argparse
import os
import random
import sys

import mido

PPQ = 480
STEP = PPQ // 4  # one 16th
GENRES = ("rock", "metal", "pop", "hiphop", "twelve-tone")


class Piece:
    def __init__(self, bpm, program):
        self.bpm = bpm
        self.program = program
        self.notes = []  # (onset_step, end_step, pitch, velocity, channel)

    def add(self, onset, length, pitch, velocity=90, channel=0):
        if 0 <= pitch <= 127 and length > 0:
            self.notes.append((onset, onset + length, pitch, velocity, channel))

    def save(self, path):
        mid = mido.MidiFile(type=1, ticks_per_beat=PPQ)
        meta = mido.MidiTrack()
        meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(self.bpm), time=0))
        meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
        mid.tracks.append(meta)
        for channel in sorted({n[4] for n in self.notes}):
            track = mido.MidiTrack()
            track.append(mido.Message("program_change", program=self.program, channel=channel, time=0))
            events = []
            for on, off, pitch, vel, ch in self.notes:
                if ch == channel:
                    events.append((off * STEP, 0, pitch, 0))
                    events.append((on * STEP, 1, pitch, vel))
            events.sort()
            now = 0
            for tick, kind, pitch, vel in events:
                track.append(mido.Message("note_on" if kind else "note_off", note=pitch, velocity=vel,
                                          channel=channel, time=tick - now))
                now = tick
            mid.tracks.append(track)
        mid.save(path)


def chord(root_pc, minor, base):
    """Root-position triad on `root_pc`, its root at or above `base`."""
    root = base + (root_pc - base) % 12
    return [root, root + (3 if minor else 4), root + 7]


# (semitones above the key, minor) of the degrees the progressions use
DEGREES = {"I": (0, False), "ii": (2, True), "iii": (4, True), "IV": (5, False), "V": (7, False),
           "vi": (9, True), "bVII": (10, False)}


def rock(rng):
    piece = Piece(rng.randint(112, 140), 29)
    key = rng.choice([4, 9, 2, 7, 0])  # E A D G C
    progression = rng.choice([["I", "V", "vi", "IV"], ["I", "IV", "V", "IV"], ["I", "bVII", "IV", "I"],
                              ["vi", "IV", "I", "V"]])
    bars = rng.choice([8, 12, 16])
    for bar in range(bars):
        offset, minor = DEGREES[progression[bar % 4]]
        start = bar * 16
        for eighth in range(8):
            for p in chord(key + offset, minor, 52):
                piece.add(start + eighth * 2, 2, p, 100 if eighth in (0, 4) else 84, 0)
        for quarter in range(4):
            piece.add(start + quarter * 4, 4, 36 + (key + offset) % 12, 96, 1)
    return piece


def metal(rng):
    piece = Piece(rng.randint(160, 200), 30)
    root = rng.choice([40, 38])  # E2, D2
    riff_roots = [0, 0, 1, 0, 6, 5, 3, 1]  # chromatic steps, the b2 and the tritone
    rng.shuffle(riff_roots)
    bars = rng.choice([8, 12, 16])
    for bar in range(bars):
        start = bar * 16
        accents = sorted(rng.sample(range(1, 16), 3))
        accents = [0] + accents
        step = 0
        while step < 16:
            if step in accents:
                r = root + riff_roots[(bar * 4 + accents.index(step)) % len(riff_roots)]
                length = rng.choice([2, 3, 4])
                length = min(length, 16 - step)
                for p in (r, r + 7, r + 12):
                    piece.add(start + step, length, p, 118, 0)
                step += length
            else:
                piece.add(start + step, 1, root, 92, 0)  # palm-muted chug
                step += 1
    return piece


def pop(rng):
    piece = Piece(rng.randint(96, 124), 0)
    key = rng.choice([0, 2, 5, 7, 9])
    progression = rng.choice([["I", "V", "vi", "IV"], ["vi", "IV", "I", "V"], ["I", "vi", "IV", "V"],
                              ["IV", "V", "I", "I"]])
    pentatonic = [0, 2, 4, 7, 9]
    bars = rng.choice([8, 12, 16])
    scale = [60 + key + pc + 12 * o for o in (0, 1) for pc in pentatonic]
    scale = sorted(p for p in scale if 60 <= p <= 81)
    at = rng.randrange(len(scale) // 2, len(scale) // 2 + 2)
    phrase = [rng.choice([2, 2, 2, 4, 4, 3, 1]) for _ in range(8)]
    for bar in range(bars):
        start = bar * 16
        offset, minor = DEGREES[progression[bar % 4]]
        for p in chord(key + offset, minor, 53):
            piece.add(start, 16, p, 64, 1)
        step = 0 if bar % 2 == 0 else rng.choice([0, 2])
        motif = phrase if bar % 4 != 3 else [4, 4, 8]
        for length in motif:
            if step >= 16:
                break
            length = min(length, 16 - step)
            piece.add(start + step, length, scale[at], 96, 0)
            move = rng.choice([-1, -1, 1, 1, 0, 2, -2])
            at = min(max(at + move, 0), len(scale) - 1)
            step += length
    return piece


def hiphop(rng):
    piece = Piece(rng.randint(84, 96), 0)
    kick_patterns = [[0, 10], [0, 7, 10], [0, 3, 10], [0, 6, 8, 14]]
    kicks = rng.choice(kick_patterns)
    snare = rng.choice([38, 39])
    bars = rng.choice([8, 12, 16])
    for bar in range(bars):
        start = bar * 16
        for s in kicks if bar % 4 != 3 else kicks + [13]:
            piece.add(start + s, 1, 36, 110, 9)
        for s in (4, 12):
            piece.add(start + s, 1, snare, 104, 9)
        hats = range(0, 16, 2) if rng.random() < 0.5 else range(16)
        for s in hats:
            pitch = 46 if (s == 14 and bar % 2 == 1) else 42
            piece.add(start + s, 1, pitch, 70 + (12 if s % 4 == 0 else 0), 9)
    return piece


def twelve_tone(rng):
    piece = Piece(rng.randint(60, 100), 0)
    row = list(range(12))
    rng.shuffle(row)
    forms = {
        "P": row,
        "R": row[::-1],
        "I": [(-p) % 12 for p in row],
        "RI": [(-p) % 12 for p in row][::-1],
    }
    step = 0
    for _ in range(rng.randint(4, 7)):
        form = forms[rng.choice(list(forms))]
        t = rng.randrange(12)
        for pc in form:
            pitch = 48 + (pc + t) % 12 + 12 * rng.randrange(3)
            length = rng.choice([1, 2, 3, 5, 6])
            piece.add(step, length, pitch, rng.randint(50, 110), 0)
            step += length if rng.random() < 0.85 else 0  # now and then a dyad
        step += rng.choice([0, 2, 4])
    return piece


GENERATORS = {"rock": rock, "metal": metal, "pop": pop, "hiphop": hiphop, "twelve-tone": twelve_tone}


def write(genre, out_dir, count, seed):
    os.makedirs(out_dir, exist_ok=True)
    for i in range(count):
        rng = random.Random("%s:%d:%d" % (genre, seed, i))
        GENERATORS[genre](rng).save(os.path.join(out_dir, "%s-%04d.mid" % (genre, i)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("genre", choices=GENRES + ("all",))
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.count < 1:
        print("genre_corpora.py: --count must be at least 1", file=sys.stderr)
        return 2
    for genre in GENRES if a.genre == "all" else (a.genre,):
        write(genre, os.path.join(a.out_dir, genre) if a.genre == "all" else a.out_dir, a.count, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
