"""Oracle for `sonify weights` outputs, reading the MIDI with Debian's python3-mido (an
independent parser) and the run's JSON.

  genre_check.py FILE.mid FILE.json

Prints one JSON object: {"errors": [...], "bars": N, "markers": [...], "tempo_bpm": x,
"chords": [[pitch, ...], ...] (distinct pad chords, house), "patterns": {section:
[pitch, ...]} (first bar of each section on the first melodic channel), "notes": N}.
Checks: one tempo as declared, 4/4 at tick 0, a marker at each section's first bar,
the last note ends inside the last section, drums only on channel 10 and the drum track
only there, each track's program as declared, no zero-length notes, no overlapping
notes of the same pitch on a channel, every melodic note in its section's scale (mode
table below, written independently of sonify), key signatures naming the section's
diatonic scale.
"""
import json
import sys

import mido

MODES = {
    "major": [0, 2, 4, 5, 7, 9, 11], "natural_minor": [0, 2, 3, 5, 7, 8, 10],
    "harmonic_minor": [0, 2, 3, 5, 7, 8, 11], "melodic_minor": [0, 2, 3, 5, 7, 9, 11],
    "dorian": [0, 2, 3, 5, 7, 9, 10], "phrygian": [0, 1, 3, 5, 7, 8, 10],
    "lydian": [0, 2, 4, 6, 7, 9, 11], "mixolydian": [0, 2, 4, 5, 7, 9, 10],
    "locrian": [0, 1, 3, 5, 6, 8, 10], "whole_tone": [0, 2, 4, 6, 8, 10],
    "major_pentatonic": [0, 2, 4, 7, 9], "minor_pentatonic": [0, 3, 5, 7, 10],
}
DIATONIC = {"major", "natural_minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian"}
PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
      "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "Cb": 11}


def main(mid_path, json_path):
    run = json.load(open(json_path))
    mid = mido.MidiFile(mid_path)
    ppq = mid.ticks_per_beat
    bar = ppq * run["beats_per_bar"]
    errors = []
    tempos, sigs, markers, keys, notes, programs = [], [], [], [], [], {}
    track_channels = {}
    for ti, track in enumerate(mid.tracks):
        tick, name, open_notes = 0, None, {}
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempos.append((tick, msg.tempo))
            elif msg.type == "time_signature":
                sigs.append((tick, msg.numerator, msg.denominator))
            elif msg.type == "marker":
                markers.append((tick, msg.text))
            elif msg.type == "key_signature":
                keys.append((tick, msg.key))
            elif msg.type == "track_name" and name is None:
                name = msg.name
            elif msg.type == "program_change":
                programs[name] = msg.program
            elif msg.type == "note_on" and msg.velocity > 0:
                k = (msg.channel, msg.note)
                if open_notes.get(k):
                    errors.append(f"overlapping notes: channel {msg.channel} pitch {msg.note} at tick {tick}")
                open_notes.setdefault(k, []).append(tick)
                track_channels.setdefault(name, set()).add(msg.channel)
            elif msg.type in ("note_off", "note_on"):
                k = (msg.channel, msg.note)
                if open_notes.get(k):
                    start = open_notes[k].pop(0)
                    if tick <= start:
                        errors.append(f"zero-length note: channel {msg.channel} pitch {msg.note} at tick {tick}")
                    notes.append((msg.channel, msg.note, start, tick, name))
        for k, starts in open_notes.items():
            if starts:
                errors.append(f"unterminated note {k}")
    bpm = run["tempo_bpm"]
    if len(tempos) != 1 or tempos[0][0] != 0 or abs(tempos[0][1] - round(60e6 / bpm)) > 1:
        errors.append(f"tempo: {tempos} for {bpm} BPM")
    if sigs[:1] != [(0, 4, 4)]:
        errors.append(f"time signature: {sigs}")
    sections = run["sections"]
    want_markers = [(s["first_bar"] * bar, s["name"]) for s in sections]
    if markers != want_markers:
        errors.append(f"markers {markers[:6]} != {want_markers[:6]}")
    end = max((n[3] for n in notes), default=0)
    bars = (end + bar - 1) // bar
    if sections and not (sections[-1]["first_bar"] < bars <= sections[-1]["end_bar"]):
        errors.append(f"{bars} bars, sections end at {sections[-1]['end_bar']}")
    tracks = {t["name"]: t for t in run["tracks"]}
    for name, chans in track_channels.items():
        t = tracks.get(name)
        if t is None:
            errors.append(f"track {name} not in the JSON")
        elif t["drums"] != (chans == {9}) or len(chans) != 1:
            errors.append(f"track {name}: channels {sorted(chans)}, drums {t['drums']}")
        elif not t["drums"] and programs.get(name) != t["program"]:
            errors.append(f"track {name}: program {programs.get(name)} != {t['program']}")
    # Scale membership per section.
    chromatic = set(run.get("chromatic_tracks", []))
    checked = 0
    for ch, pitch, start, stop, name in notes:
        if ch == 9 or name in chromatic:
            continue
        b = start // bar
        sec = next((s for s in sections if s["first_bar"] <= b < s["end_bar"]), None)
        if sec is None:
            errors.append(f"note at bar {b} outside every section")
            continue
        if (pitch - sec["root"]) % 12 not in MODES[sec["mode"]]:
            errors.append(f"{name}: pitch {pitch} at bar {b} not in {sec['root_name']} {sec['mode']}")
        checked += 1
    # Key signatures: each names the section's diatonic scale.
    for s in sections:
        if s["mode"] not in DIATONIC:
            continue
        t = s["first_bar"] * bar
        k = [key for tick, key in keys if tick <= t]
        if not k:
            errors.append(f"no key signature at section {s['name']}")
            continue
        key = k[-1]
        minor = key.endswith("m")
        parent = (PC[key[:-1] if minor else key] + (3 if minor else 0)) % 12
        want = sorted((s["root"] + i) % 12 for i in MODES[s["mode"]])
        have = sorted((parent + i) % 12 for i in MODES["major"])
        if want != have:
            errors.append(f"section {s['name']}: key signature {key} does not name {s['root_name']} {s['mode']}")
    # Facts for the tests.
    chords = set()
    by_start = {}
    for ch, pitch, start, stop, name in notes:
        if name == "Pad":
            by_start.setdefault(start, []).append(pitch)
    for start, ps in by_start.items():
        chords.add(tuple(sorted(ps)))
    patterns = {}
    melodic = [n for n in notes if n[0] != 9]
    first_ch = min((n[0] for n in melodic), default=0)
    for s in sections:
        lo, hi = s["first_bar"] * bar, (s["first_bar"] + 1) * bar
        patterns[s["name"]] = [[n[2] - lo, n[1]] for n in sorted(melodic, key=lambda n: (n[2], n[1]))
                               if n[0] == first_ch and lo <= n[2] < hi]
    print(json.dumps({"errors": errors[:20], "n_errors": len(errors), "bars": bars, "notes": len(notes),
                      "checked_scale_notes": checked, "markers": [m[1] for m in markers],
                      "tempo_bpm": 60e6 / tempos[0][1] if tempos else 0,
                      "chords": sorted(list(c) for c in chords), "patterns": patterns,
                      "drum_notes": sum(1 for n in notes if n[0] == 9)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
