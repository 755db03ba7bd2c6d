#!/usr/bin/python3
"""Issue 13's opening table measured again, one markdown row per threshold of the issue
(its table, then "Acid", "House", "Opera", "Suite", "Everywhere", "Prompt tracks") plus
the weaknesses later sessions found, with the value on each model and pass/fail.

  scripts/issue13_table.py OUT_DIR      (OUT_DIR as scripts/issue13_table.sh fills it:
                                         OUT_DIR/{tiny,TS,g2,g3}/{acid,house,opera,suite}.{mid,json,wav}
                                         and OUT_DIR/{tiny,TS}-{voices,markov}/ albums)

Every figure comes from tests/oracles/music_metrics.py and prompt_metrics.py (mido, numpy,
scipy), never from sonify's own numbers, except where a row says "JSON" (the provenance
names a statistic, which is what the issue asks of that row).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "oracles"))
import music_metrics as mm  # noqa: E402
import prompt_metrics as pm  # noqa: E402

MODELS = ["tiny", "TS", "g2", "g3"]
GENRES = ["acid", "house", "opera", "suite"]


def load(out):
    m, runs = {}, {}
    for model in MODELS:
        for g in GENRES:
            base = os.path.join(out, model, g)
            m[model, g] = mm.measure(base + ".mid", base + ".json", base + ".wav")
            runs[model, g] = json.load(open(base + ".json"))
    return m, runs


def fmt(x):
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.2f}"
    return str(x)


class Table:
    def __init__(self):
        self.rows = []

    def add(self, group, what, threshold, values, ok):
        """values: {model: value}; ok: {model: bool} or one bool for the row."""
        if isinstance(ok, bool):
            ok = {k: ok for k in values}
        cells = []
        for model in MODELS:
            if model not in values:
                cells.append("n/a")
            else:
                cells.append(fmt(values[model]) + ("" if ok[model] else " ✗"))
        passed = all(ok[k] for k in values)
        self.rows.append(f"| {group} | {what} | {threshold} | " + " | ".join(cells) +
                         f" | {'pass' if passed else 'FAIL'} |")
        return passed

    def print(self):
        print("| row | measure | threshold | " + " | ".join(MODELS) + " | |")
        print("|---|---|---|" + "---|" * len(MODELS) + "---|")
        for r in self.rows:
            print(r)


def section(m, prefix):
    return [k for k in m if k.startswith(prefix)]


def per_model(f):
    return {model: f(model) for model in MODELS}


def main(out):
    m, runs = load(out)
    t = Table()
    # ---- the opening table ----
    v = per_model(lambda x: max(m[x, g]["max_repeat"] for g in GENRES))
    t.add("no development", "longest verbatim bar repeat, any track of any genre", "≤ 4", v,
          {k: v[k] <= 4 for k in v})
    v = per_model(lambda x: min(m[x, "house"]["section_rhythms"][s]["Lead"]
                                for s in section(m[x, "house"]["section_rhythms"], "drop")))
    t.add("no development", "house lead: distinct bar rhythms in each drop (fewest)", "≥ 4", v,
          {k: v[k] >= 4 for k in v})
    v = per_model(lambda x: m[x, "opera"]["section_chords"][section(m[x, "opera"]["section_chords"], "Act I ")[0]])
    t.add("no development", "opera Act I: distinct chord roots on the strings' downbeats", "≥ 3", v,
          {k: v[k] >= 3 for k in v})
    onsets = {(x, g): mm.onsets(os.path.join(out, x, g + ".mid")) for x in MODELS for g in GENRES}

    def jac(a, b, g):
        sa, sb = onsets[a, g], onsets[b, g]
        return len(sa & sb) / max(1, len(sa | sb))
    for g in GENRES:
        v = per_model(lambda x: max(jac(x, y, g) for y in MODELS if y != x))
        t.add("form follows the model", f"{g}: onset-only Jaccard, highest against another model", "≤ 0.75",
              v, {k: v[k] <= 0.75 for k in v})

    def drums(x):
        d = [tr for tr in m[x, "house"]["tracks"].values() if tr["drums"]]
        return d[0]["notes"] if d else 0
    v = per_model(drums)
    t.add("form follows the model", "house: drum notes (kick+hat+clap)", "not all equal", v, len(set(v.values())) > 1)

    def act12(x):
        return sum(s["bars"] for s in m[x, "opera"]["sections"] if s["name"].startswith(("Act I ", "Act II ")))
    v = per_model(act12)
    t.add("form follows the model", "opera: bars of Acts I+II", "not all equal", v, len(set(v.values())) > 1)
    v = per_model(lambda x: round(m[x, "acid"]["length_seconds"], 1))
    t.add("form follows the model", "acid: length (s)", "not all equal", v, len(set(v.values())) > 1)
    v = per_model(lambda x: [s["bars"] for s in m[x, "house"]["sections"]])
    t.add("form follows the model", "house: section bars", "not all equal",
          {k: "/".join(map(str, x)) for k, x in v.items()}, len({tuple(x) for x in v.values()}) > 1)
    v = per_model(lambda x: round(m[x, "opera"]["length_seconds"] / 60, 2))
    t.add("opera too long", "opera length (min), ≤ 12 layers", "3–6", v, {k: 3 <= v[k] <= 6 for k in v})
    v = per_model(lambda x: m[x, "acid"]["cc_digest"][:8])
    t.add("small models collapse", "acid CC stream (sha256 prefix)", "all different", v,
          len(set(v.values())) == len(v))
    v = per_model(lambda x: max(tr["top_pitch_fraction"] for n, tr in m[x, "opera"]["tracks"].items()
                                if not tr["drums"] and tr["notes"] >= 8))
    t.add("small models collapse", "opera: most-used pitch share, worst melodic track", "≤ 0.8", v,
          {k: v[k] <= 0.8 for k in v})
    for g in GENRES:
        trained, rnd = ["tiny", "TS"], ["g2", "g3"]
        v = {x: max(jac(x, y, g) for y in (rnd if x in trained else trained)) for x in MODELS}
        t.add("trained vs random", f"{g}: onset Jaccard against the other kind (trained/random)", "≤ 0.75", v,
              {k: v[k] <= 0.75 for k in v})

    def harmonic_rhythm(x):
        for p in runs[x, "house"]["provenance"]:
            if p["part"].startswith("track Pad: harmonic rhythm"):
                return p["statistics"][0]
        return "-"
    v = per_model(harmonic_rhythm)
    t.add("trained vs random", "house harmony driven by trained-ness (JSON)", "named, trained > random", v,
          all(v[k] != "-" for k in v))
    v = per_model(lambda x: max(m[x, g]["wav"]["silence_seconds"] for g in GENRES))
    t.add("dead air", "longest silence in the WAV (−60 dBFS), any genre (s)", "≤ 1", v, {k: v[k] <= 1 for k in v})
    v = per_model(lambda x: max(m[x, g]["midi_gap_seconds"] for g in GENRES))
    t.add("dead air", "longest time with no note in the MIDI, any genre (s)", "≤ 1", v, {k: v[k] <= 1 for k in v})
    v = per_model(lambda x: max(m[x, g]["wav"]["quiet10_lu"] for g in GENRES))
    t.add("dead air", "quietest 10 % of 3-s windows under integrated, worst genre (LU)", "≤ 20", v,
          {k: v[k] <= 20 for k in v})
    v = per_model(lambda x: min(lu for g in GENRES for lu in m[x, g]["wav"]["section_lu"].values()))
    t.add("dead air", "quietest section (movement, act) against integrated, any genre (LU)", "≥ −20", v,
          {k: v[k] >= -20 for k in v})
    v = per_model(lambda x: sum(len(m[x, g]["empty_tracks"]) for g in GENRES))
    t.add("dead air", "empty tracks, all genres", "0", v, {k: v[k] == 0 for k in v})
    v = per_model(lambda x: sum(len(m[x, g]["one_pitch_tracks"]) for g in GENRES))
    t.add("dead air", "one-pitch melodic tracks (> 80 % one pitch), all genres", "0", v, {k: v[k] == 0 for k in v})
    v = per_model(lambda x: sum(1 for g in GENRES if m[x, g]["ending"]["tonic"] or m[x, g]["ending"]["fade"]))
    t.add("dead air", "genres ending on the tonic or fading", "4 of 4", v, {k: v[k] == 4 for k in v})
    acid_layers = lambda x, key: [m[x, "acid"]["section_articulation"][s]["Acid Bass"][key]  # noqa: E731
                                  for s in section(m[x, "acid"]["section_articulation"], "layer")]
    v = per_model(lambda x: m[x, "acid"]["tracks"]["Acid Bass"]["rest_tie_fraction"])
    t.add("acid without air", "acid: rests + ties, share of 16th steps", "0.20–0.45", v,
          {k: 0.2 <= v[k] <= 0.45 for k in v})
    v = per_model(lambda x: f"{min(acid_layers(x, 'accents'))}/{min(acid_layers(x, 'slides'))}")
    t.add("acid without air", "acid: fewest accents/slides in any 4-bar phrase of any layer", "≥ 2 / ≥ 1", v,
          {x: min(acid_layers(x, "accents")) >= 2 and min(acid_layers(x, "slides")) >= 1 for x in MODELS})
    # ---- per genre ----
    v = per_model(lambda x: round(m[x, "acid"]["length_seconds"], 1))
    t.add("acid", "length (s) for 2–4 layers", "60–240", v, {k: 60 <= v[k] <= 240 for k in v})
    v = per_model(lambda x: max(d.get("Acid Bass", 0) for s, d in m[x, "acid"]["section_top_share"].items()
                                if s.startswith("layer")))
    t.add("acid", "share of a layer's notes on its highest pitch, worst layer (session 13: 35 %)", "≤ 0.25", v,
          {k: v[k] <= 0.25 for k in v})
    v = per_model(lambda x: m[x, "house"]["tracks"]["Bass"]["rest_fraction"])
    t.add("house", "bass rests (share of 16th steps)", "> 0.2", v, {k: v[k] > 0.2 for k in v})
    v = per_model(lambda x: "{grid_root}/{grid_notes}, {changes_with_root}/{changes}".format(
        **m[x, "house"]["bass_root"]))
    t.add("house", "bass on the chord root: 8th-grid notes, chord changes with the root", "all", v,
          {x: m[x, "house"]["bass_root"]["grid_root"] == m[x, "house"]["bass_root"]["grid_notes"] and
           m[x, "house"]["bass_root"]["changes_with_root"] == m[x, "house"]["bass_root"]["changes"]
           for x in MODELS})
    v = per_model(lambda x: m[x, "house"]["window_distinct"]["Bass"]["distinct"])
    t.add("house", "bass: fewest distinct pitches in an 8-bar window", "≥ 3", v, {k: v[k] >= 3 for k in v})
    v = per_model(lambda x: m[x, "house"]["window_distinct"]["Bass"]["top_share"])
    t.add("house", "bass: largest share of one pitch in an 8-bar window (session 13: one root for 8 bars)",
          "≤ 0.55", v, {k: v[k] <= 0.55 for k in v})
    v = per_model(lambda x: any(p["part"] == "groove: swing" for p in runs[x, "house"]["provenance"]))
    t.add("house", "swing from a named statistic (JSON)", "yes", v, {k: v[k] for k in v})
    def breaths(x, key):
        return min(d[key] for s, d in m[x, "house"]["phrase_breaths"].items() if s.startswith("drop"))
    v = per_model(lambda x: breaths(x, "Lead"))
    t.add("house", "lead breathes: share of the drops' 4-bar phrases whose last half bar is free of lead",
          "≥ 0.75", v, {k: v[k] >= 0.75 for k in v})
    v = per_model(lambda x: breaths(x, "answered"))
    t.add("house", "call and response: share of those breaths where the pad strikes ≥ 2 times", "≥ 0.75", v,
          {k: v[k] >= 0.75 for k in v})
    v = per_model(lambda x: m[x, "house"]["under"]["Lead/Pad"])
    t.add("house", "lead notes at or under the pad's top", "≤ 0.05", v, {k: v[k] <= 0.05 for k in v})

    def stripped(x):
        secs = {s["name"]: s for s in runs[x, "house"]["sections"]}
        mid = mm.read_midi(os.path.join(out, x, "house.mid"))
        ppq, tracks = mid[1], mid[2]
        bar = 4 * ppq

        def active(name):
            s = secs[name]
            return sum(1 for tr in tracks if any(s["first_bar"] <= n[0] // bar < s["end_bar"] for n in tr["notes"]))
        return f"{active('drop')}>{active('breakdown')},{active('outro')}"
    v = per_model(stripped)
    t.add("house", "tracks playing: drop > breakdown, outro", "fewer", v,
          {k: int(v[k].split(">")[0]) > max(map(int, v[k].split(">")[1].split(","))) for k in v})
    v = per_model(lambda x: round(m[x, "opera"]["length_seconds"] / 60, 2))
    t.add("opera", "length (min)", "3–6", v, {k: 3 <= v[k] <= 6 for k in v})
    v = per_model(lambda x: m[x, "opera"]["ensemble_voice_leading"])
    t.add("opera", "ensemble voice-leading, median move per voice (semitones; session 13: 3.0 on all)", "≤ 2.5",
          v, {k: v[k] <= 2.5 for k in v})
    v = per_model(lambda x: m[x, "opera"]["section_chords"][section(m[x, "opera"]["section_chords"], "Act III")[0]])
    t.add("opera", "Act III distinct chord roots", "≥ 4", v, {k: v[k] >= 4 for k in v})
    v = per_model(lambda x: m[x, "opera"]["midi_gap_seconds"])
    t.add("opera", "no holes: longest time without a note (s)", "≤ 1", v, {k: v[k] <= 1 for k in v})
    v = per_model(lambda x: list(m[x, "opera"]["wav"]["section_lu"].values())[0])
    t.add("opera", "dynamics from the first bar: Act I against integrated (LU)", "≥ −10", v,
          {k: v[k] >= -10 for k in v})

    def prologue(x, key):
        return m[x, "suite"][key][section(m[x, "suite"][key], "I Prologue")[0]]
    v = per_model(lambda x: round(next(s["seconds"] for s in m[x, "suite"]["sections"]
                                       if s["name"].startswith("I Prologue")), 1))
    t.add("suite", "prologue length (s; session 13: 26.7 on all)", "follows the model (not all equal)", v,
          len(set(v.values())) > 1)
    v = per_model(lambda x: prologue(x, "section_static_seconds"))
    t.add("suite", "prologue: longest time without a new onset (s)", "≤ 2", v, {k: v[k] <= 2 for k in v})
    v = per_model(lambda x: m[x, "suite"]["section_sustain"][section(m[x, "suite"]["section_sustain"], "III")[0]])
    t.add("suite", "Memory: share of time with a held (≥ 2 beats) note under the brass", "≥ 0.9", v,
          {k: v[k] >= 0.9 for k in v})
    v = per_model(lambda x: m[x, "suite"]["under"].get("Bells/Organ"))
    t.add("suite", "epilogue bells at or under the organ's top (session 13: 12–33 %)", "≤ 0.05", v,
          {k: v[k] is not None and v[k] <= 0.05 for k in v})
    v = per_model(lambda x: min(m[x, "suite"]["wav"]["section_lu"].values()))
    t.add("suite", "every movement audible: quietest movement against integrated (LU)", "≥ −12", v,
          {k: v[k] >= -12 for k in v})
    v = per_model(lambda x: max((tr.get("chord_voice_leading") or 0) for g in GENRES
                                for tr in m[x, g]["tracks"].values()))
    t.add("everywhere", "chord voice-leading, median per voice, worst track (semitones)", "≤ 3", v,
          {k: v[k] <= 3 for k in v})
    v = per_model(lambda x: max((m[x, g]["ensemble_voice_leading"] or 0) for g in GENRES))
    t.add("everywhere", "ensemble voice-leading, worst genre (semitones)", "≤ 3", v, {k: v[k] <= 3 for k in v})
    v = per_model(lambda x: max((tr["intervals"] or {}).get("median_abs", 0) for g in GENRES
                                for tr in m[x, g]["tracks"].values() if "intervals" in tr))
    t.add("everywhere", "melodic median interval, worst track (semitones)", "≤ 7", v, {k: v[k] <= 7 for k in v})
    # ---- prompt tracks: the models with a tokenizer ----
    albums = {(x, st): pm.album(os.path.join(out, f"{x}-{st}")) for x in ("tiny", "TS") for st in ("voices", "markov")
              if os.path.isdir(os.path.join(out, f"{x}-{st}"))}
    if albums:
        def pv(f):
            return {x: f(x) for x in ("tiny", "TS")}

        def best_r(a):
            return max(r for r in (a.get("r_density"), a.get("r_notes_per_second"), a.get("r_velocity"), -1)
                       if r is not None)
        for st in ("voices", "markov"):
            v = pv(lambda x: best_r(albums[x, st]))
            t.add("prompt tracks", f"{st}: tension against density or velocity, best r", "≥ 0.6", v,
                  {k: v[k] >= 0.6 for k in v})
            v = pv(lambda x: "t{tempo} m{mode} i{instruments}".format(**albums[x, st]["distinct"]))
            t.add("prompt tracks", f"{st}: distinct tempos / modes / instrument sets", "≥ 2 of them > 1", v,
                  {x: sum(albums[x, st]["distinct"][k] > 1 for k in ("tempo", "mode", "instruments")) >= 2
                   for x in ("tiny", "TS")})
            v = pv(lambda x: max(abs(p["mean_first_offset"]) for p in albums[x, st]["parts"].values()
                                 if p["mean_first_offset"] is not None))
            t.add("prompt tracks", f"{st}: first-position artefact, worst part, absolute mean first offset", "≤ 4", v,
                  {k: v[k] <= 4 for k in v})
            v = pv(lambda x: max(p["max_top_pitch_fraction"] for p in albums[x, st]["parts"].values()))
            t.add("prompt tracks", f"{st}: most-used pitch share, worst part", "≤ 0.8 (drone excepted)",
                  v, pv(lambda x: not albums[x, st]["one_pitch"]))
            v = pv(lambda x: len(pm.failures(albums[x, st])))
            t.add("prompt tracks", f"{st}: prompt_metrics.py check failures", "0", v, {k: v[k] == 0 for k in v})
        v = pv(lambda x: "{median_interval:.1f} / {within_fifth:.2f}".format(**albums[x, "markov"]["parts"]["lead"]))
        t.add("prompt tracks", "markov lead: median interval / share within a fifth", "≤ 4 / ≥ 0.6", v,
              pv(lambda x: albums[x, "markov"]["parts"]["lead"]["median_interval"] <= 4 and
                 albums[x, "markov"]["parts"]["lead"]["within_fifth"] >= 0.6))
        v = pv(lambda x: "/".join(min(p["min_distinct"] for n, p in albums[x, "markov"]["parts"].items() if n == k)
                                  .__str__() for k in ("celesta", "organ") if k in albums[x, "markov"]["parts"]))
        t.add("prompt tracks", "markov celesta / organ: fewest distinct pitches in a track", "> 1", v,
              pv(lambda x: all(int(s) > 1 for s in v[x].split("/"))))
        v = pv(lambda x: ", ".join(f"{g}:{'/'.join(ms)}" for g, ms in albums[x, "voices"]["group_modes"].items()))
        t.add("prompt tracks", "voices: album groups → modes", "groups differ", v,
              pv(lambda x: len({tuple(ms) for ms in albums[x, "voices"]["group_modes"].values()}) > 1))
    t.print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
