#!/usr/bin/python3
"""The bundled MIDI genre models side by side (issue 15): did each learn its genre, and what
does each play?

  scripts/midi_genre_page.py [--sonify BIN] [--samples 20] [--seconds 12] [--corpus-count 300]
                             [--cards] [-o DIR]

For every data/models/midi-GENRE: `sonify sample` with seeds 0..samples-1 (--seconds each,
one thread), then each sample's statistics (tests/sample/genre_corpus_check.py: pitch
classes, intervals, density, polyphony, rhythm, register) standardised over all the genre
corpora and assigned to the nearest corpus centroid. The corpora are what the models were
trained on: the J. S. Bach chorales (scripts/jsb_to_midi.py, all splits), the five
generated genres (scripts/genre_corpora.py all, --corpus-count files each, seed 0) and, for
a model of one of sonify's own genres (midi-acid, ...), the first (at most 100) of its
scripts/sonify_corpus.py pieces. Exits 1 when a model misses the bar. A model learned its
genre when >= 80 % of its samples land on its own corpus.

Writes DIR/midi-genres.md (the table: one row per model, where its samples land, its
validation loss against the bigram and unigram baselines) and DIR/midi-genres.png (the
piano roll of each model's seed-0 sample, one row per model, as the seed notebook compared
its genres). --cards also writes the table into every model's MODEL_CARD.md ("All bundled
genres"). Needs Debian's python3-mido, python3-numpy and python3-matplotlib.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "sample"))
import genre_corpus_check as gcc  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "oracles"))
from music_metrics import read_midi  # noqa: E402

SECTION = "## All bundled genres"


def chorale_json():
    for d in (os.environ.get("SONIFY_CORPORA"), os.path.join(ROOT, "..", "shared", "corpora"),
              "/work/shared/corpora"):
        if d and os.path.isfile(os.path.join(d, "jsb-chorales", "Jsb16thSeparated.json")):
            return os.path.join(d, "jsb-chorales", "Jsb16thSeparated.json")
    print("midi_genre_page.py: the chorale corpus (jsb-chorales) is not found; set SONIFY_CORPORA", file=sys.stderr)
    # 77: the test suite's "skipped", unless CI, where a missing corpus is a failure.
    sys.exit(1 if os.environ.get("CI") == "true" else 77)


def make_corpora(root, sonify, own_genres, count):
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "genre_corpora.py"), "all", root,
                    "--count", str(count), "--seed", "0"], check=True, stdout=subprocess.DEVNULL)
    for genre in own_genres:  # sonify's own genres: the first pieces the model learned from
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "sonify_corpus.py"), genre,
                        os.path.join(root, genre), "--count", str(min(count, 100)), "--seed", "0", "--sonify",
                        sonify], check=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "jsb_to_midi.py"), chorale_json(),
                    os.path.join(root, "bach"), "--split", "all"], check=True, stdout=subprocess.DEVNULL)


def samples(sonify, model, out, n, seconds):
    # One process for the n seeds (seed-0 ... seed-N-1), the same bytes as n runs of one.
    subprocess.run([sonify, "sample", "--model", model, "--seconds", str(seconds), "--seed", "0", "--count", str(n),
                    "--threads", "1", "--midi-only", "-q", "-o", out, "--name", "seed"], check=True)
    return [os.path.join(out, "seed-%d.mid" % seed) for seed in range(n)]


def piano_roll(ax, path, title):
    _, ppq, tracks, _, tempos, _ = read_midi(path)
    sec = (tempos[0][1] if tempos else 500000) / 1e6 / ppq  # the samples have one tempo
    for t in tracks:
        for start, end, pitch, _, channel in t["notes"]:
            if channel == 9:
                ax.scatter([start * sec], [pitch], s=4, color="k")
            else:
                ax.plot([start * sec, end * sec], [pitch, pitch], color="tab:blue", linewidth=2)
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_ylabel("pitch")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sonify", default=os.path.join(ROOT, "build", "release", "tools", "sonify", "sonify"))
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--cards", action="store_true")
    ap.add_argument("--corpus-count", type=int, default=300,
                    help="files per generated corpus (sonify's own genres: at most 100)")
    ap.add_argument("-o", default=os.path.join(ROOT, "doc"))
    a = ap.parse_args()
    models = sorted(glob.glob(os.path.join(ROOT, "data", "models", "midi-*")))
    if not models:
        raise SystemExit("midi_genre_page.py: no data/models/midi-* models")
    with tempfile.TemporaryDirectory() as work:
        corpora_root = os.path.join(work, "corpora")
        own_genres = [os.path.basename(m)[len("midi-"):] for m in models
               if os.path.basename(m)[len("midi-"):] in ("acid", "house", "suite")]
        make_corpora(corpora_root, a.sonify, own_genres, a.corpus_count)
        data = gcc.corpora(corpora_root)
        z = gcc.standardiser(data)
        centroids = {g: z(x).mean(0) for g, x in data.items()}
        genres = list(centroids)
        rows, first = [], {}
        for model in models:
            name = os.path.basename(model)
            genre = name[len("midi-"):]
            files = samples(a.sonify, model, os.path.join(work, name), a.samples, a.seconds)
            counts = dict.fromkeys(genres, 0)
            for f in files:
                x = z(gcc.features(f))
                counts[min(genres, key=lambda g: np.linalg.norm(x - centroids[g]))] += 1
            log = json.load(open(os.path.join(model, "training.json")))
            rows.append((name, genre, counts, log))
            first[name] = files[0]
            print("%-18s %s" % (name, " ".join("%s:%d" % (g, c) for g, c in counts.items() if c)), file=sys.stderr)
        held = sum(1 for _, genre, counts, _ in rows if counts.get(genre, 0) >= 0.8 * a.samples)
        head = ("| model | " + " | ".join(genres) + " | own | validation loss | bigram | unigram | steps |\n"
                "|---|" + "---|" * (len(genres) + 5) + "\n")
        body = ""
        for name, genre, counts, log in rows:
            cells = " | ".join(("**%d**" % counts[g]) if g == genre else str(counts[g]) for g in genres)
            own = counts.get(genre, 0)
            body += "| %s | %s | %d %% | %.3f | %.3f | %.3f | %d |\n" % (
                name, cells, round(100 * own / a.samples), log["final_val_loss"], log["bigram_val_loss"],
                log["unigram_val_loss"], log["steps_done"])
        how = ("%d samples per model (`sonify sample --seconds %g --seed 0..%d --threads 1`), each assigned to "
               "the nearest corpus centroid of its statistics (pitch classes, intervals, density, polyphony, "
               "rhythm, register; tests/sample/genre_corpus_check.py), standardised over the training "
               "corpora: the J. S. Bach chorales, scripts/genre_corpora.py's five genres (%d files each, "
               "seed 0) and the first %d pieces of scripts/sonify_corpus.py for sonify's own genres. A row counts where its samples land; **own** is the share on its own corpus "
               "(the bar: 80 %%). Made by scripts/midi_genre_page.py; %d of %d models hold the bar.\n"
               % (a.samples, a.seconds, a.samples - 1, a.corpus_count, min(a.corpus_count, 100), held, len(rows)))
        table = head + body
        os.makedirs(a.o, exist_ok=True)
        fig, axes = plt.subplots(len(models), 1, figsize=(14, 2.2 * len(models)), sharex=True, squeeze=False)
        for ax, (name, genre, counts, _) in zip(axes[:, 0], rows):
            piano_roll(ax, first[name], "%s (seed 0; %d of %d samples nearest %s)" %
                       (name, counts.get(genre, 0), a.samples, genre))
        axes[-1][0].set_xlabel("seconds")
        fig.tight_layout()
        fig.savefig(os.path.join(a.o, "midi-genres.png"), dpi=80)
        with open(os.path.join(a.o, "midi-genres.md"), "w") as f:
            f.write("# The bundled MIDI genre models side by side\n\n"
                    "Each model is the same 3-layer decoder (issue 15); only the corpus differs. "
                    "Hear one: `sonify sample --model data/models/midi-GENRE -o out`.\n\n"
                    + how + "\n" + table + "\n![seed-0 sample of each model](midi-genres.png)\n")
        if a.cards:
            for model in models:
                card = os.path.join(model, "MODEL_CARD.md")
                text = open(card).read()
                if SECTION in text:
                    text = text[:text.index(SECTION)].rstrip("\n") + "\n"
                open(card, "w").write(text + "\n" + SECTION + "\n\n" + how + "\n" + table)
    return 0 if held == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
