"""Music metrics of prompt tracks and albums (issue 13, "Prompt tracks"), measured
independently of sonify: the MIDI read with Debian's python3-mido, the provenance and
manifest JSON with the standard library.

  prompt_metrics.py album DIR            one JSON object for an album directory
  prompt_metrics.py table DIR [DIR ...]  one summary line per album directory
  prompt_metrics.py check DIR [DIR ...]  exit 1 and name every threshold an album misses

Per track (DIR/track_NN.mid with its .json):
  tempo_bpm, mode (provenance key.mode), programs (sorted GM programs of non-empty tracks),
  density (note onsets of all tracks per second, from the first onset to the last note end),
  mean_velocity (all notes), longest_gap (seconds with no note sounding, before the last end),
  phrases (each sentence, from the word markers: its start bar and length in bars up to the
  next sentence or the final cadence), regular_phrases (the share starting on a bar line and
  lasting 2, 4, 8 or 16 bars; check: all),
  tracks {name: notes, distinct_pitches, top_pitch_fraction, longest_repeat (consecutive
  bars with identical notes), median_interval, within_fifth (of the top line),
  first_offset (first pitch minus the median of the others)}, empty_tracks,
  one_pitch_tracks (melodic, >= 8 notes, > 80 % on one pitch; parts called "drone"
  excepted), ending (last onset's notes: "tonic" when the lowest is the key's root
  pitch class, "fade" when the last notes are softer than the track's mean velocity),
  lead_under_organ (markov: the share of the lead's notes at or below the organ's
  concurrent top note, the highest organ note sounding at the onset or struck at the
  organ's latest onset in the bar before it; check: at most 0.05 in every track).
Per album: tension (manifest) against density and mean velocity (Pearson r); how many
distinct tempos, modes, densities (rounded to 0.1/s) and instrument sets the tracks have
(check: at least two sets, and tracks of the same prompt text share one);
the mean first_offset of every melodic part over the album (a first-position artefact
shows as a large mean offset in one direction) and its mean absolute value (first notes
leaping into the melody from either side); group modes.
"""
import json
import os
import statistics
import sys

import mido
import numpy as np

MODES_DARK = ["lydian", "major", "mixolydian", "dorian", "natural_minor", "harmonic_minor", "phrygian", "locrian"]


def read(path, meta=None):
    mid = mido.MidiFile(path)
    ppq = mid.ticks_per_beat
    tempo = None
    tracks = []
    for tr in mid.tracks:
        tick, name, program, opened, notes = 0, None, None, {}, []
        for m in tr:
            tick += m.time
            if meta is not None and m.type == "marker":
                meta.setdefault("markers", []).append((tick, m.text))
            elif meta is not None and m.type == "time_signature" and "bar" not in meta:
                meta["bar"] = m.numerator * ppq * 4 // m.denominator
            if m.type == "track_name" and name is None:
                name = m.name
            elif m.type == "set_tempo" and tempo is None:
                tempo = m.tempo
            elif m.type == "program_change":
                program = m.program
            elif m.type == "note_on" and m.velocity > 0:
                opened.setdefault((m.channel, m.note), []).append((tick, m.velocity))
            elif m.type in ("note_on", "note_off"):
                k = (m.channel, m.note)
                if opened.get(k):
                    s, v = opened[k].pop(0)
                    notes.append((s, tick, m.note, v))
        if program is not None or notes:
            notes.sort()
            tracks.append({"name": name or "?", "program": program, "notes": notes})
    return ppq, (tempo or 500000), tracks


def longest_repeat(notes, bar):
    by_bar = {}
    for s, e, p, v in notes:
        by_bar.setdefault(s // bar, []).append((s % bar, p, e - s))
    best = run = 0
    prev_b = prev = None
    for b in sorted(by_bar):
        c = tuple(sorted(by_bar[b]))
        run = run + 1 if prev_b is not None and b == prev_b + 1 and c == prev else 1
        best = max(best, run)
        prev_b, prev = b, c
    return best


def top_line(notes):
    at = {}
    for s, e, p, v in notes:
        at[s] = max(at.get(s, -1), p)
    return [at[k] for k in sorted(at)]


def phrases(markers, cadence, bar):
    """Sentences from the word markers (a word ending in . ! or ? closes one; the last runs
    to the cadence, the track's last onset): (start tick, length in bars) of each."""
    starts, first = [], True
    for tick, text in sorted(markers):
        if first:
            starts.append(tick)
        first = text.rstrip()[-1:] in (".", "!", "?")
    ends = starts[1:] + [cadence]
    return [(a, (b - a) / bar) for a, b in zip(starts, ends)]


def under_share(upper, lower, window):
    """Share of `upper` notes at or below the concurrent top of `lower` (None: never concurrent)."""
    hits = total = 0
    for s, e, p, v in upper:
        below = [n[2] for n in lower if n[0] <= s < n[1]]
        starts = [n[0] for n in lower if s - window < n[0] <= s]
        if starts:
            below += [n[2] for n in lower if n[0] == max(starts)]
        if below:
            total += 1
            hits += p <= max(below)
    return hits / total if total else None


def track_metrics(path):
    info = {}
    ppq, tempo_us, tracks = read(path, info)
    sec = tempo_us / 1e6 / ppq
    meta = json.load(open(path[:-4] + ".json"))
    root_pc = meta["key"]["root_midi"] % 12
    out = {"tempo_bpm": round(60e6 / tempo_us, 3), "mode": meta["key"]["mode"], "prompt": meta.get("prompt"),
           "tension": (meta.get("direction") or {}).get("tension"), "tracks": {}}
    alln = [n for t in tracks for n in t["notes"]]
    out["programs"] = sorted({t["program"] for t in tracks if t["notes"]})
    out["empty_tracks"] = [t["name"] for t in tracks if not t["notes"]]
    if not alln:
        return out
    first = min(n[0] for n in alln)
    last = max(n[1] for n in alln)
    out["seconds"] = (last - first) * sec
    out["density"] = len({(n[0]) for n in alln}) / max(1e-9, out["seconds"])
    out["notes_per_second"] = len(alln) / max(1e-9, out["seconds"])
    out["mean_velocity"] = float(np.mean([n[3] for n in alln]))
    spans = sorted((n[0], n[1]) for n in alln)
    gap, reach = 0, spans[0][1]
    for s, e in spans[1:]:
        gap = max(gap, s - reach)
        reach = max(reach, e)
    out["longest_gap"] = gap * sec
    one = []
    for t in tracks:
        ns = t["notes"]
        if not ns:
            continue
        pitches = [n[2] for n in ns]
        counts = np.bincount(pitches)
        line = top_line(ns)
        iv = [abs(b - a) for a, b in zip(line, line[1:])]
        m = {"notes": len(ns), "distinct_pitches": int(np.count_nonzero(counts)),
             "top_pitch_fraction": float(counts.max() / len(ns)), "longest_repeat": longest_repeat(ns, 4 * ppq)}
        if iv:
            m["median_interval"] = float(statistics.median(iv))
            m["within_fifth"] = float(np.mean([i <= 7 for i in iv]))
        if len(line) > 2:
            m["first_offset"] = float(line[0] - statistics.median(line[1:]))
        if len(ns) >= 8 and m["top_pitch_fraction"] > 0.8 and "drone" not in t["name"]:
            one.append(t["name"])
        out["tracks"][t["name"]] = m
    out["one_pitch_tracks"] = one
    bar = info.get("bar", 4 * ppq)
    by_name = {t["name"]: t["notes"] for t in tracks}
    if by_name.get("lead") and by_name.get("organ"):
        out["lead_under_organ"] = under_share(by_name["lead"], by_name["organ"], bar)
    ph = phrases(info.get("markers", []), max(n[0] for n in alln), bar)
    out["phrases"] = [{"start_bar": a / bar, "bars": b} for a, b in ph]
    # A phrase a listener hears as one: it starts on a bar line and lasts 2, 4, 8 or 16 bars.
    out["regular_phrases"] = sum(1 for a, b in ph if a % bar == 0 and b in (2, 4, 8, 16)) / max(1, len(ph))
    end_on = max(n[0] for n in alln)
    final = [n for n in alln if n[0] == end_on]
    lowest = min(final, key=lambda n: n[2])
    mean_v = out["mean_velocity"]
    tail = sorted(alln, key=lambda n: n[0])[-max(3, len(alln) // 10):]
    out["ending"] = ("tonic" if lowest[2] % 12 == root_pc else "") + \
                    ("fade" if np.mean([n[3] for n in tail]) < mean_v else "")
    return out


def pearson(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def album(d):
    man = json.load(open(os.path.join(d, "manifest.json")))
    rows = []
    for t in man["tracks"]:
        if "error" in t:
            continue
        m = track_metrics(os.path.join(d, t["name"] + ".mid"))
        m["name"], m["group"], m["tension"] = t["name"], t.get("group", ""), t.get("tension")
        rows.append(m)
    out = {"dir": d, "tracks": rows}
    ten = [r["tension"] for r in rows]
    if all(x is not None for x in ten):
        out["r_density"] = pearson(ten, [r.get("density", 0) for r in rows])
        out["r_notes_per_second"] = pearson(ten, [r.get("notes_per_second", 0) for r in rows])
        out["r_velocity"] = pearson(ten, [r.get("mean_velocity", 0) for r in rows])
    out["distinct"] = {"tempo": len({round(r["tempo_bpm"]) for r in rows}), "mode": len({r["mode"] for r in rows}),
                       "density": len({round(r.get("density", 0), 1) for r in rows}),
                       "instruments": len({tuple(r["programs"]) for r in rows})}
    parts = {}
    for r in rows:
        for name, m in r["tracks"].items():
            parts.setdefault(name, []).append(m)
    out["parts"] = {}
    for name, ms in parts.items():
        iv = [m["median_interval"] for m in ms if "median_interval" in m]
        wf = [m["within_fifth"] for m in ms if "within_fifth" in m]
        fo = [m["first_offset"] for m in ms if "first_offset" in m]
        out["parts"][name] = {"tracks": len(ms), "median_interval": float(np.median(iv)) if iv else None,
                              "within_fifth": float(np.mean(wf)) if wf else None,
                              "mean_first_offset": float(np.mean(fo)) if fo else None,
                              "mean_abs_first_offset": float(np.mean(np.abs(fo))) if fo else None,
                              "max_top_pitch_fraction": max(m["top_pitch_fraction"] for m in ms),
                              "min_distinct": min(m["distinct_pitches"] for m in ms),
                              "longest_repeat": max(m["longest_repeat"] for m in ms)}
    by_prompt = {}
    for r in rows:
        by_prompt.setdefault(r["prompt"], set()).add(tuple(r["programs"]))
    out["same_prompt_sets"] = {p: sorted(v) for p, v in by_prompt.items() if len(v) > 1}
    out["repeated_prompts"] = sum(1 for r in rows if sum(1 for q in rows if q["prompt"] == r["prompt"]) > 1)
    out["empty"] = sorted({(r["name"], e) for r in rows for e in r["empty_tracks"]})
    out["one_pitch"] = sorted({(r["name"], e) for r in rows for e in r["one_pitch_tracks"]})
    out["longest_gap"] = max(r.get("longest_gap", 0) for r in rows)
    out["regular_phrases"] = float(np.mean([r.get("regular_phrases", 0) for r in rows])) if rows else 0.0
    out["phrase_bars"] = sorted({p["bars"] for r in rows for p in r.get("phrases", [])})
    out["endings"] = sum(1 for r in rows if r.get("ending")) / max(1, len(rows))
    under = [r["lead_under_organ"] for r in rows if r.get("lead_under_organ") is not None]
    out["lead_under_organ"] = max(under) if under else None
    groups = {}
    for r in rows:
        groups.setdefault(r["group"], set()).add(r["mode"])
    out["group_modes"] = {g: sorted(v) for g, v in groups.items()}
    return out


def summary(a):
    f = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    parts = " ".join(f"{n}[iv={f(p['median_interval'])} w5={f(p['within_fifth'])} first={f(p['mean_first_offset'])} "
                     f"top={f(p['max_top_pitch_fraction'])} rep={p['longest_repeat']}]"
                     for n, p in a["parts"].items())
    return (f"{os.path.basename(a['dir'].rstrip('/'))}: r(t,dens)={f(a.get('r_density'))} "
            f"r(t,nps)={f(a.get('r_notes_per_second'))} r(t,vel)={f(a.get('r_velocity'))} "
            f"distinct={a['distinct']} empty={len(a['empty'])} onepitch={len(a['one_pitch'])} "
            f"gap={a['longest_gap']:.2f}s phrases={a['regular_phrases']:.2f} endings={a['endings']:.2f} groups={a['group_modes']} {parts}")


def failures(a, lead="lead"):
    """The issue's thresholds for prompt tracks that this album misses."""
    bad = []
    r = [x for x in (a.get("r_density"), a.get("r_notes_per_second"), a.get("r_velocity")) if x is not None]
    if not r or max(r) < 0.6:
        bad.append(f"tension correlates < 0.6 with density and velocity ({r})")
    # Density counts when it follows the tension (every track's density differs anyway).
    follows = sum(1 for k in ("tempo", "mode", "instruments") if a["distinct"][k] > 1) + \
        (1 if r and max(r[:2] if len(r) > 2 else r) >= 0.6 else 0)
    if follows < 2:
        bad.append(f"fewer than two of tempo/mode/density/instruments follow the prompts: {a['distinct']}, r {r}")
    for name, p in a["parts"].items():
        if name == "drone":
            continue
        if p["mean_first_offset"] is not None and abs(p["mean_first_offset"]) > 4:
            bad.append(f"{name}: first notes {p['mean_first_offset']:+.1f} semitones from the rest on average")
        # Offsets in both directions cancel in the mean; a first note that leaps into the
        # melody from either side shows in the mean distance.
        if p["mean_abs_first_offset"] is not None and p["mean_abs_first_offset"] > 5:
            bad.append(f"{name}: first notes {p['mean_abs_first_offset']:.1f} semitones from the rest (mean distance)")
        if p["longest_repeat"] > 4:
            bad.append(f"{name}: a bar repeated {p['longest_repeat']} times")
    if lead in a["parts"]:
        p = a["parts"][lead]
        if p["median_interval"] > 4 or p["within_fifth"] < 0.6:
            bad.append(f"{lead}: median interval {p['median_interval']}, within a fifth {p['within_fifth']:.2f}")
    for name in ("celesta", "organ"):
        if name in a["parts"] and a["parts"][name]["max_top_pitch_fraction"] > 0.8:
            bad.append(f"{name}: one pitch on > 80 % of its notes")
    if a["distinct"]["instruments"] < 2 and len(a["tracks"]) > 1:
        bad.append("every track uses the same instruments")
    for p, sets in a["same_prompt_sets"].items():
        bad.append(f"the same prompt gets different instruments {sets}: {p[:40]}")
    if a["empty"]:
        bad.append(f"empty tracks {a['empty'][:3]}")
    if a["one_pitch"]:
        bad.append(f"one-pitch tracks {a['one_pitch'][:3]}")
    if a["longest_gap"] > 1.0:
        bad.append(f"silence of {a['longest_gap']:.2f} s")
    if a["regular_phrases"] < 1.0:
        bad.append(f"only {a['regular_phrases']:.0%} of sentences are 2/4/8/16-bar phrases on bar lines "
                   f"(lengths {a['phrase_bars'][:8]})")
    if a["lead_under_organ"] is not None and a["lead_under_organ"] > 0.05:
        bad.append(f"the lead sits at or under the organ's top on {a['lead_under_organ']:.0%} of its notes")
    if a["endings"] < 1.0:
        bad.append(f"only {a['endings']:.0%} of tracks end on the tonic or fade")
    return bad


def main(argv):
    if len(argv) == 2 and argv[0] == "album":
        print(json.dumps(album(argv[1])))
    elif len(argv) >= 2 and argv[0] == "table":
        for d in argv[1:]:
            print(summary(album(d)))
    elif len(argv) >= 2 and argv[0] == "check":
        bad = []
        for d in argv[1:]:
            bad += [f"{d}: {b}" for b in failures(album(d))]
        print("\n".join(bad) if bad else "ok")
        return 1 if bad else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
