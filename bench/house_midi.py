"""Writes the benchmark MIDI with Debian's python3-mido: 4 minutes, 4 tracks (bass,
pad, lead, drums), 128 bars at 128 BPM, deterministic (no randomness).

  house_midi.py OUT.mid
"""
import sys

import mido

PPQ = 480
STEP = PPQ // 4
BARS = 128


def main(path):
    mid = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name="bench house", time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(128), time=0))
    mid.tracks.append(conductor)
    chords = [57, 53, 60, 55]  # Am F C G
    parts = {"bass": (0, 38, []), "pad": (1, 92, []), "lead": (2, 81, []), "drums": (9, 0, [])}
    for bar in range(BARS):
        start = bar * 4 * PPQ
        root = chords[(bar // 2) % 4]
        drop = 32 <= bar < 96
        for s in range(16):
            if bar >= 16:
                parts["bass"][2].append((start + s * STEP, int(STEP * 0.85), root - 24 + (12 if s % 4 == 3 else 0), 100 if s % 8 == 0 else 80))
            if drop or 24 <= bar < 32:
                parts["lead"][2].append((start + s * STEP, int(STEP * 0.88), root + [12, 15, 19, 24][s % 4], 65 + (s % 3) * 10))
        if bar % 2 == 0:
            for interval in (0, 3, 7, 12):
                parts["pad"][2].append((start, int(8 * PPQ * 0.98), root + interval, 50 if drop else 40))
        if bar >= 16:
            for beat in range(4):
                parts["drums"][2].append((start + beat * PPQ, PPQ // 8, 36, 110))
                if beat % 2 == 1:
                    parts["drums"][2].append((start + beat * PPQ, PPQ // 8, 38, 95))
                parts["drums"][2].append((start + beat * PPQ + PPQ // 2, PPQ // 8, 46 if beat % 2 else 42, 70))
    for name, (channel, program, notes) in parts.items():
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=name, time=0))
        track.append(mido.Message("program_change", channel=channel, program=program, time=0))
        events = []
        for start, length, pitch, velocity in notes:
            events.append((start + length, 0, pitch, 0))
            events.append((start, 1, pitch, velocity))
        events.sort()
        now = 0
        for tick, on, pitch, velocity in events:
            kind = "note_on" if on else "note_off"
            track.append(mido.Message(kind, channel=channel, note=pitch, velocity=velocity, time=tick - now))
            now = tick
        mid.tracks.append(track)
    mid.save(path)


if __name__ == "__main__":
    main(sys.argv[1])
