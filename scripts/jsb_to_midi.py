#!/usr/bin/python3
"""Writes the J. S. Bach chorales of ../shared/corpora/jsb-chorales (Jsb16thSeparated.json:
per chorale a list of 16th-note steps, each [soprano, alto, tenor, bass], -1 for a rest)
as MIDI files, one per chorale: four tracks (S, A, T, B; choir aahs), 480 ticks per
quarter, 100 BPM; a voice holding one pitch over consecutive steps is one note.

  jsb_to_midi.py JSON OUT_DIR [--split train|valid|test|all] [--limit N]

Files are named SPLIT-NNN.mid. Uses Debian's python3-mido.
"""
import argparse
import json
import os

import mido

PPQ = 480
STEP = PPQ // 4


def voice_notes(steps, voice):
    notes, start, pitch = [], 0, -1
    for i, chord in enumerate(steps + [[-1] * 4]):
        p = int(chord[voice]) if voice < len(chord) else -1
        if p != pitch:
            if pitch >= 0:
                notes.append((start, i, pitch))
            start, pitch = i, p
    return notes


def write(chorale, path):
    mid = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    mid.tracks.append(conductor)
    for voice, name in enumerate(["Soprano", "Alto", "Tenor", "Bass"]):
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=name, time=0))
        track.append(mido.Message("program_change", channel=voice, program=52, time=0))
        events = []
        for start, end, pitch in voice_notes(chorale, voice):
            events.append((start * STEP, 1, pitch))
            events.append((end * STEP, 0, pitch))
        events.sort()
        now = 0
        for tick, on, pitch in events:
            kind = "note_on" if on else "note_off"
            track.append(mido.Message(kind, channel=voice, note=pitch, velocity=80 if on else 0, time=tick - now))
            now = tick
        mid.tracks.append(track)
    mid.save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("out_dir")
    ap.add_argument("--split", default="all", choices=["train", "valid", "test", "all"])
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    data = json.load(open(a.json))
    os.makedirs(a.out_dir, exist_ok=True)
    for split in (["train", "valid", "test"] if a.split == "all" else [a.split]):
        chorales = data[split][:a.limit] if a.limit else data[split]
        for i, chorale in enumerate(chorales):
            write(chorale, os.path.join(a.out_dir, "%s-%03d.mid" % (split, i)))


if __name__ == "__main__":
    main()
