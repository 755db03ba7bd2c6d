"""Oracle for activation tracks: checks NAME.timing.json against NAME.mid read with
Debian's python3-mido (an independent MIDI parser and tempo map).

  activation_timing.py FILE.mid FILE.timing.json

Every voice track (all tracks with notes except the one named "drone") must hold
exactly one note per word, in word order (plus one at "tail.start", the cadence,
when the timing has a tail); each word's start is its notes' onset and
its end the latest of their offsets (within 1 ms); words follow one another. Prints
"ok WORDS VOICES" or the first disagreement (exit 1).
"""
import json
import sys

import mido


def main(mid_path, timing_path):
    mid = mido.MidiFile(mid_path)
    timing = json.load(open(timing_path, encoding="utf-8"))
    words = timing["words"]
    # Absolute seconds through the tempo map of the whole file (mido merges tracks).
    tempo_changes = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempo_changes.append((tick, msg.tempo))
    tempo_changes.sort()

    def seconds(tick):
        s, last_tick, tempo = 0.0, 0, 500000
        for t, us in tempo_changes:
            if t > tick:
                break
            s += mido.tick2second(t - last_tick, mid.ticks_per_beat, tempo)
            last_tick, tempo = t, us
        return s + mido.tick2second(tick - last_tick, mid.ticks_per_beat, tempo)

    voices = []
    for track in mid.tracks:
        name, tick, open_notes, notes = None, 0, {}, []
        for msg in track:
            tick += msg.time
            if msg.type == "track_name":
                name = msg.name
            elif msg.type == "note_on" and msg.velocity > 0:
                open_notes[(msg.channel, msg.note)] = tick
            elif msg.type in ("note_off", "note_on"):
                start = open_notes.pop((msg.channel, msg.note))
                notes.append((start, tick, msg.note))
        if notes and name != "drone":
            voices.append((name, sorted(notes)))
    if not voices:
        return "no voice tracks"
    # A closing cadence after the last word ("tail") adds one note per voice there.
    tail = timing.get("tail")
    for name, notes in voices:
        if tail is not None:
            if not notes or abs(seconds(notes[-1][0]) - tail["start"]) > 1e-3:
                return f"voice {name}: no cadence note at {tail['start']}"
            if words and tail["start"] < words[-1]["start"]:
                return "the cadence starts before the last word"
            notes.pop()
        if len(notes) != len(words):
            return f"voice {name}: {len(notes)} notes for {len(words)} words"
    previous_end = -1.0
    for i, w in enumerate(words):
        if w["index"] != i:
            return f"word {i}: index {w['index']}"
        if not w["token_ids"]:
            return f"word {i} ({w['text']}) has no tokens"
        starts = [seconds(notes[i][0]) for _, notes in voices]
        ends = [seconds(notes[i][1]) for _, notes in voices]
        pitches = [notes[i][2] for _, notes in voices]
        if any(abs(s - w["start"]) > 1e-3 for s in starts):
            return f"word {i} ({w['text']}): notes start at {starts}, timing says {w['start']}"
        if abs(max(ends) - w["end"]) > 1e-3:
            return f"word {i} ({w['text']}): notes end at {max(ends)}, timing says {w['end']}"
        if pitches != w["pitches"]:
            return f"word {i}: pitches {pitches}, timing says {w['pitches']}"
        if w["start"] < previous_end - 1e-3 and i > 0 and w["start"] <= words[i - 1]["start"]:
            return f"word {i} starts before word {i - 1}"
        previous_end = w["end"]
    return f"ok {len(words)} {len(voices)}"


if __name__ == "__main__":
    result = main(sys.argv[1], sys.argv[2])
    print(result)
    sys.exit(0 if result.startswith("ok") else 1)
