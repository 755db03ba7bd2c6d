"""Oracle for sonify's MIDI files, using Debian's python3-mido (an independent parser
and writer).

  midi_mido.py dump FILE         print what mido reads from FILE as JSON
  midi_mido.py write OUT TYPE    write a test file with mido (type 0 or 1, running
                                 status, tempo changes, drums, bends, controllers)

The JSON: {"type", "ticks_per_beat", "tempos": [[tick, us]], "programs":
[[track, channel, program]], "notes": [[channel, pitch, start, end, velocity]] sorted,
"controls": [[channel, tick, cc, value]], "bends": [[channel, tick, value]],
"markers": [[tick, text]], "time_signatures": [[tick, num, den]], "keys": [[tick, key]],
"track_names": [...], "length_ticks"}.
"""
import json
import sys

import mido


def dump(path):
    mid = mido.MidiFile(path)
    out = {"type": mid.type, "ticks_per_beat": mid.ticks_per_beat, "tempos": [], "programs": [],
           "notes": [], "controls": [], "bends": [], "markers": [], "time_signatures": [],
           "keys": [], "track_names": [], "length_ticks": 0}
    for ti, track in enumerate(mid.tracks):
        tick = 0
        open_notes = {}
        name = None
        for msg in track:
            tick += msg.time
            out["length_ticks"] = max(out["length_ticks"], tick)
            if msg.type == "set_tempo":
                out["tempos"].append([tick, msg.tempo])
            elif msg.type == "track_name" and name is None:
                name = msg.name
            elif msg.type == "marker":
                out["markers"].append([tick, msg.text])
            elif msg.type == "time_signature":
                out["time_signatures"].append([tick, msg.numerator, msg.denominator])
            elif msg.type == "key_signature":
                out["keys"].append([tick, msg.key])
            elif msg.type == "program_change":
                out["programs"].append([ti, msg.channel, msg.program])
            elif msg.type == "control_change":
                out["controls"].append([msg.channel, tick, msg.control, msg.value])
            elif msg.type == "pitchwheel":
                out["bends"].append([msg.channel, tick, msg.pitch])
            elif msg.type == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif msg.type in ("note_off", "note_on"):
                starts = open_notes.get((msg.channel, msg.note))
                if starts:
                    start, vel = starts.pop(0)
                    out["notes"].append([msg.channel, msg.note, start, tick, vel])
        out["track_names"].append(name if name is not None else "")
    for key in ("notes", "controls", "bends"):
        out[key].sort()
    print(json.dumps(out))


def write(path, smf_type):
    mid = mido.MidiFile(type=smf_type, ticks_per_beat=96)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name="mido song", time=0))
    conductor.append(mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0))
    conductor.append(mido.MetaMessage("key_signature", key="Em", time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=400000, time=0))
    conductor.append(mido.MetaMessage("marker", text="verse", time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=600000, time=384))
    conductor.append(mido.MetaMessage("marker", text="chorus", time=0))
    parts = []
    for ch, program, base in ((0, 33, 40), (3, 81, 64), (9, 0, 36)):
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name="part %d" % ch, time=0))
        track.append(mido.Message("program_change", channel=ch, program=program, time=0))
        track.append(mido.Message("control_change", channel=ch, control=74, value=20 + ch, time=0))
        for i in range(12):
            pitch = base + (i * 5) % 12
            # Notes end with note_on velocity 0 (running status applies to both).
            track.append(mido.Message("note_on", channel=ch, note=pitch, velocity=60 + i, time=0 if i == 0 else 8))
            track.append(mido.Message("note_on", channel=ch, note=pitch, velocity=0, time=40))
            if ch == 3 and i == 5:
                track.append(mido.Message("pitchwheel", channel=ch, pitch=-4096, time=0))
        parts.append(track)
    if smf_type == 1:
        mid.tracks.append(conductor)
        mid.tracks.extend(parts)
    else:
        mid.tracks.append(mido.merge_tracks([conductor] + parts))
    mid.save(path)


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: midi_mido.py dump FILE | write OUT TYPE")
