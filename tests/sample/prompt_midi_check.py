#!/usr/bin/python3
"""Independent checks of `sonify prompt --midi-prompt` with mido (issue 15).

  prompt_midi_check.py chorale OUT.mid [CHORDS]
      Writes a chorale-like four-part piece (soprano, alto, tenor, bass on one track, a
      cadential progression in C with passing notes in the soprano and bass, onsets a few
      ticks off the 16th grid as a human plays them), CHORDS quarter-note chords long
      (default 8).
  prompt_midi_check.py tokens FILE.mid MODEL_DIR PROMPT.json
      Tokenizes FILE.mid as doc/midi-tokens.md specifies (16th grid, halves round up, one
      sounding note per pitch, at one step NoteOffs then NoteOns by ascending pitch, time
      shifts of at most 32 steps; drums only for a drum model, whose training.json says
      midi.drums), with the model's midi_tokenizer.json vocabulary: BOS, the
      events, no EOS (the piece goes on after a prompt). Compares with the token ids, pieces,
      token count and file sha256 that PROMPT.json records (a prefix when it says
      truncated_from), and the word timing of PROMPT.timing.json beside it: one word per
      onset moment (a grid step with a NoteOn, through the release-only steps after it), each
      lasting its time shifts in beats (the last, without one, a beat) at the track's tempo.
      Prints a JSON summary; exits 1 on any difference.
"""
import hashlib
import json
import os
import sys

import mido

# The grid quantisation of the tokenizer's own oracle (tests/oracles/midi_tokens_check.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracles"))
from midi_tokens_check import quantised  # noqa: E402


def chorale(path, chords):
    # I IV V I vi ii V I ..., four voices in close SATB spacing.
    progression = [
        (48, 55, 64, 72), (53, 57, 65, 72), (55, 59, 62, 74), (48, 55, 64, 72),
        (45, 57, 64, 72), (50, 57, 65, 69), (43, 55, 62, 71), (48, 55, 64, 72),
    ]
    ppq, jitter = 480, [0, 7, -5, 11, -9, 3]
    notes = []  # (on, off, pitch)
    for i in range(chords):
        bass, tenor, alto, soprano = progression[i % len(progression)]
        at = i * ppq
        for k, p in enumerate((bass, tenor, alto)):
            notes.append((at + jitter[(i + k) % len(jitter)], at + ppq - 20, p))
        # soprano: a dotted eighth and a 16th passing note up a step
        notes.append((at, at + 3 * ppq // 4, soprano))
        notes.append((at + 3 * ppq // 4 + 4, at + ppq, soprano + 2))
    events = []
    for on, off, p in notes:
        events.append((max(0, on), 1, p))
        events.append((off, 0, p))
    events.sort()
    mid = mido.MidiFile(ticks_per_beat=ppq)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(72), time=0))
    now = 0
    for t, kind, p in events:
        msg = "note_on" if kind else "note_off"
        track.append(mido.Message(msg, note=p, velocity=80 if kind else 0, time=t - now))
        now = t
    mid.save(path)


def grid_notes(path, spb, keep_drums=False):
    """[(onset_step, end_step, pitch)] as the tokenizer must see them, by onset then pitch."""
    return sorted(quantised(path, spb, keep_drums), key=lambda n: (n[0], n[2]))


def expected_tokens(path, tokenizer, drums=False):
    cfg = tokenizer["config"]
    if cfg["use_velocities"] or cfg["use_programs"] or cfg["beat_res"] != {"0_8": 4}:
        raise SystemExit("oracle: only the 16th grid without velocities or programs is modelled")
    vocab, spb, max_shift = tokenizer["vocab"], 4, cfg["max_shift_steps"]
    lo, hi = cfg["pitch_range"]
    notes = [n for n in grid_notes(path, spb, drums) if lo <= n[2] < hi]
    events = {}  # step -> (offs, ons)
    for on, off, p in notes:
        events.setdefault(off, ([], []))[0].append(p)
        events.setdefault(on, ([], []))[1].append(p)
    names, now = ["BOS_None"], 0
    for step in sorted(events):
        gap = step - now
        while gap > 0:
            d = min(gap, max_shift)
            names.append("TimeShift_%d.%d.%d" % (d // spb, d % spb, spb))
            gap -= d
        now = step
        offs, ons = events[step]
        names += ["NoteOff_%d" % p for p in sorted(offs)]
        names += ["NoteOn_%d" % p for p in sorted(ons)]
    return names, [vocab[n] for n in names], len(notes)


def word_starts(names, bpm):
    """Start seconds of each onset word of the token names (BOS first), per the doc's rule."""
    moments, after_shift = [], True  # each moment: [has a NoteOn, beats of its shifts]
    for name in names[1:]:
        shift = name.startswith("TimeShift_")
        if shift:
            if not moments:  # a rest before the first event
                moments.append([False, 0.0])
            b, s, r = (int(x) for x in name[len("TimeShift_"):].split("."))
            moments[-1][1] += b + s / r
        else:
            if after_shift:
                moments.append([False, 0.0])
            moments[-1][0] = moments[-1][0] or name.startswith("NoteOn_")
        after_shift = shift
    words = []
    for has_on, beats in moments:
        if not words or has_on:
            words.append(beats)
        else:
            words[-1] += beats
    if words and words[-1] <= 0:
        words[-1] = 1.0
    starts, at = [], 0.0
    for beats in words:
        starts.append(at * 60.0 / bpm)
        at += beats
    return starts


def check_tokens(midi_path, model_dir, prompt_json):
    tokenizer = json.load(open(model_dir + "/midi_tokenizer.json"))
    got = json.load(open(prompt_json))
    # A model trained on drums alone reads a prompt's drums as its notes (training.json).
    log_path = os.path.join(model_dir, "training.json")
    drums = os.path.exists(log_path) and json.load(open(log_path)).get("midi", {}).get("drums", False)
    names, ids, n_notes = expected_tokens(midi_path, tokenizer, drums)
    kept = len(got["token_ids"])
    problems = []
    if "truncated_from" in got:
        if got["truncated_from"] != len(ids):
            problems.append("truncated_from %d, expected %d" % (got["truncated_from"], len(ids)))
        ids, names = ids[:kept], names[:kept]
    if got["token_ids"] != ids:
        first = next((i for i, (a, b) in enumerate(zip(got["token_ids"], ids)) if a != b), min(kept, len(ids)))
        problems.append("token ids differ from position %d (%d recorded, %d expected)" % (first, kept, len(ids)))
    if got["pieces"] != names:
        problems.append("pieces differ")
    m = got.get("midi_prompt", {})
    sha = hashlib.sha256(open(midi_path, "rb").read()).hexdigest()
    if m.get("sha256") != sha:
        problems.append("sha256 %s, expected %s" % (m.get("sha256"), sha))
    if m.get("tokens") != kept:
        problems.append("midi_prompt.tokens %s, expected %d" % (m.get("tokens"), kept))
    if m.get("notes") != n_notes:
        problems.append("midi_prompt.notes %s, expected %d" % (m.get("notes"), n_notes))
    timing = json.load(open(prompt_json[: -len(".json")] + ".timing.json"))
    starts = word_starts(names, got["tempo_bpm"])
    got_starts = [w["start"] for w in timing["words"]]
    if len(got_starts) != len(starts) or got["words"] != len(starts):
        problems.append("%d words, expected %d" % (len(got_starts), len(starts)))
    else:
        worst = max(abs(a - b) for a, b in zip(got_starts, starts))
        if worst > 0.003:  # a tick at 480 per beat and 60 BPM is 2.1 ms
            problems.append("word starts differ from the time shifts' by up to %.4f s" % worst)
    json.dump({"tokens": kept, "expected_tokens": len(ids), "notes": n_notes, "words": len(starts),
               "problems": problems}, sys.stdout)
    print()
    return 1 if problems else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "chorale":
        chorale(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 8)
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "tokens":
        return check_tokens(sys.argv[2], sys.argv[3], sys.argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
