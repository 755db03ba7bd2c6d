#!/usr/bin/python3
"""A corpus of what sonify itself writes (issue 15): GENRE pieces composed from many seeded
random-weight checkpoints, so a MIDI model can learn sonify's own style.

  scripts/sonify_corpus.py GENRE OUT_DIR [--count 300] [--seed 0] [--sonify BIN]

GENRE is one of sonify's weight genres (acid, house, suite, ...). File i is
`sonify weights --genre GENRE --midi-only` of `sonify synth-checkpoint` of a small GPT-2
shape drawn from random.Random("GENRE:SEED:i") (2-12 layers, 64-192 wide, 4 heads, a
512-token vocabulary), with the checkpoint's own seed drawn from the same generator, so
each file depends only on genre, seed and index. The shapes vary the form (sonify's genres
grow with depth); the random weights vary the motifs. Written as OUT_DIR/GENRE-NNNN.mid.
These checkpoints are untrained, so the corpus is sonify's music of untrained models
(its "random model" colours: the acid bass stays near the root, for one).
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("genre")
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sonify", default=os.path.join(ROOT, "build", "release", "tools", "sonify", "sonify"))
    a = ap.parse_args()
    base = json.load(open(os.path.join(ROOT, "configs", "architectures", "gpt2-small.json")))
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for i in range(a.count):
            rng = random.Random("%s:%d:%d" % (a.genre, a.seed, i))
            config = dict(base, vocab_size=512, n_positions=256, n_ctx=256, n_head=4,
                          n_layer=rng.choice([2, 3, 4, 6, 8, 12]), n_embd=rng.choice([64, 128, 192]))
            arch = os.path.join(work, "config.json")
            json.dump(config, open(arch, "w"))
            model = os.path.join(work, "model")
            shutil.rmtree(model, ignore_errors=True)
            subprocess.run([a.sonify, "synth-checkpoint", "--arch", arch, "-o", model, "--seed",
                            str(rng.randrange(2**63))], check=True, stdout=subprocess.DEVNULL)
            # A cache of its own: the user's would only fill up with throwaway models.
            subprocess.run([a.sonify, "weights", "--model", model, "--genre", a.genre, "--midi-only", "-q", "-o",
                            os.path.join(work, "out")], check=True, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache")))
            shutil.move(os.path.join(work, "out", a.genre + ".mid"), os.path.join(a.out, "%s-%04d.mid" % (a.genre, i)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
