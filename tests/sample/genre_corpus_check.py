#!/usr/bin/python3
"""Are the genre corpora of scripts/genre_corpora.py what they claim? (issue 15, mido + numpy)

Statistics of a MIDI file, each a group of the feature vector:
  pitch classes  pitch-class histogram (notes counted), sorted from most to least used so a
                 piece in A and one in E compare (how tonal, not which key)
  intervals      |step| between consecutive melody notes (the highest note of each onset),
                 bins 0, 1, 2, 3-4, 5-7, 8-11, 12+ semitones
  density        onsets per beat
  polyphony      mean notes sounding at each onset
  rhythm         note lengths in 16ths (1, 2, 3, 4, 5-8, 9+) and where onsets fall in the
                 beat (on it, on the 8th between, on a 16th between)
  register       mean and spread of the pitches (/ 12)

  genre_corpus_check.py distinct CORPORA_DIR
      CORPORA_DIR/<genre>/*.mid for each genre. Standardises the features over all files and
      classifies every file by its nearest genre centroid, its own file left out of its
      centroid; for every pair of genres, the share of the two genres' files that land on
      their own side must be >= 0.9 (and every genre's own share overall >= 0.9). Prints the
      pair table with the statistic group that separates each pair most; exits 1 otherwise.
  genre_corpus_check.py deterministic GENERATOR WORK_DIR
      Runs GENERATOR (scripts/genre_corpora.py) for all genres twice with seed 0 and once
      with seed 1: the same seed must give the same bytes, the other seed other files.
  genre_corpus_check.py classify GENRE CORPORA_DIR FILE.mid...
      The share of FILEs whose nearest centroid (standardised on the corpora) is GENRE's;
      prints "closer to GENRE: k of n" and exits 1 under 80 % (the model cards' check).
"""
import glob
import hashlib
import os
import subprocess
import sys

import mido
import numpy as np

GROUPS = ["pitch classes"] * 12 + ["intervals"] * 7 + ["density", "polyphony"] + ["rhythm"] * 9 + ["register"] * 2


def notes(path):
    """(onset_step, end_step, pitch) on the 16th grid, every channel."""
    mid = mido.MidiFile(path)
    step = mid.ticks_per_beat / 4
    out = []
    for track in mid.tracks:
        now, sounding = 0, {}
        for m in track:
            now += m.time
            if m.type == "note_on" and m.velocity > 0:
                sounding.setdefault((m.channel, m.note), []).append(now)
            elif m.type in ("note_on", "note_off") and sounding.get((m.channel, m.note)):
                on = sounding[(m.channel, m.note)].pop(0)
                a = int(round(on / step))
                out.append((a, max(a + 1, int(round(now / step))), m.note))
    return sorted(out)


def features(path):
    ns = notes(path)
    if not ns:
        raise SystemExit("%s: no notes" % path)
    pcs = np.zeros(12)
    for _, _, p in ns:
        pcs[p % 12] += 1
    pcs = np.sort(pcs / pcs.sum())[::-1]
    onsets = sorted({a for a, _, _ in ns})
    top = {}
    for a, _, p in ns:
        top[a] = max(top.get(a, 0), p)
    melody = [top[a] for a in onsets]
    iv = np.zeros(7)
    edges = [0, 1, 2, 4, 7, 11]
    for x, y in zip(melody, melody[1:]):
        d = abs(y - x)
        iv[next((i for i, e in enumerate(edges) if d <= e), 6)] += 1
    iv = iv / max(1, iv.sum())
    length = max(b for _, b, _ in ns)
    density = len(onsets) / (length / 4)
    poly = np.mean([sum(1 for a, b, _ in ns if a <= t < b) for t in onsets])
    lens = np.zeros(6)
    for a, b, _ in ns:
        d = b - a
        lens[0 if d == 1 else 1 if d == 2 else 2 if d == 3 else 3 if d == 4 else 4 if d <= 8 else 5] += 1
    lens = lens / lens.sum()
    where = np.zeros(3)
    for a in onsets:
        where[0 if a % 4 == 0 else 1 if a % 4 == 2 else 2] += 1
    where = where / where.sum()
    pitches = np.array([p for _, _, p in ns], dtype=float)
    return np.concatenate([pcs, iv, [density, poly], lens, where, [pitches.mean() / 12, pitches.std() / 12]])


def corpora(root):
    out = {}
    for d in sorted(os.listdir(root)):
        files = sorted(glob.glob(os.path.join(root, d, "*.mid")))
        if files:
            out[d] = np.array([features(f) for f in files])
    if len(out) < 2:
        raise SystemExit("%s: fewer than two genre folders with MIDI files" % root)
    return out


def standardiser(data):
    allx = np.concatenate(list(data.values()))
    mu, sd = allx.mean(0), allx.std(0)
    sd[sd < 1e-9] = 1
    return lambda x: (x - mu) / sd


def distinct(root):
    data = corpora(root)
    z = standardiser(data)
    data = {g: z(x) for g, x in data.items()}
    genres = list(data)
    sums = {g: x.sum(0) for g, x in data.items()}

    def nearest(x, own, candidates):
        best, best_d = None, None
        for g in candidates:
            n = len(data[g]) - (1 if g == own else 0)
            c = (sums[g] - (x if g == own else 0)) / n
            d = np.linalg.norm(x - c)
            if best_d is None or d < best_d:
                best, best_d = g, d
        return best

    ok = True
    for g in genres:
        share = np.mean([nearest(x, g, genres) == g for x in data[g]])
        print("%-12s %d files, nearest to its own centroid: %.0f %%" % (g, len(data[g]), 100 * share))
        ok &= share >= 0.9
    for i, a in enumerate(genres):
        for b in genres[i + 1:]:
            right = [nearest(x, g, (a, b)) == g for g in (a, b) for x in data[g]]
            gap = np.abs(data[a].mean(0) - data[b].mean(0))
            by_group = {}
            for k, grp in enumerate(GROUPS):
                by_group[grp] = max(by_group.get(grp, 0), gap[k])
            top = max(by_group, key=by_group.get)
            print("%-12s vs %-12s on its own side: %5.1f %%  most apart: %s (%.1f sd)" %
                  (a, b, 100 * np.mean(right), top, by_group[top]))
            ok &= np.mean(right) >= 0.9
    print("distinct" if ok else "NOT distinct")
    return 0 if ok else 1


def digest(folder):
    h = hashlib.sha256()
    for f in sorted(glob.glob(os.path.join(folder, "*", "*.mid"))):
        h.update(os.path.relpath(f, folder).encode())
        h.update(open(f, "rb").read())
    return h.hexdigest()


def deterministic(generator, work):
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        out = os.path.join(work, name)
        subprocess.run([sys.executable, generator, "all", out, "--count", "5", "--seed", str(seed)], check=True)
        runs[name] = digest(out)
    same, other = runs["a"] == runs["b"], runs["a"] != runs["c"]
    print("seed 0 twice: %s; seed 1: %s" % ("same bytes" if same else "DIFFERENT bytes",
                                             "other files" if other else "THE SAME files"))
    return 0 if same and other else 1


def classify(genre, root, files):
    data = corpora(root)
    if genre not in data:
        raise SystemExit("%s: no %s corpus" % (root, genre))
    z = standardiser(data)
    centroids = {g: z(x).mean(0) for g, x in data.items()}
    hits = 0
    for f in files:
        x = z(features(f))
        best = min(centroids, key=lambda g: np.linalg.norm(x - centroids[g]))
        hits += best == genre
        print("%s: nearest %s" % (os.path.basename(f), best))
    print("closer to %s: %d of %d" % (genre, hits, len(files)))
    return 0 if hits >= 0.8 * len(files) else 1


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "distinct":
        return distinct(a[1])
    if len(a) == 3 and a[0] == "deterministic":
        return deterministic(a[1], a[2])
    if len(a) >= 4 and a[0] == "classify":
        return classify(a[1], a[2], a[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
