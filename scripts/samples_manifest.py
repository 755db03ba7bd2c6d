#!/usr/bin/env python3
"""samples/manifest.json for scripts/regenerate_samples.sh (CI only; sonify itself never
needs Python).

  samples_manifest.py write DIR SAMPLE=COMMAND...   prints the manifest of DIR's samples
  samples_manifest.py check MANIFEST OLD_DIR NEW_DIR
      compares NEW_DIR's samples with the manifest and the committed MIDIs in OLD_DIR;
      prints what changed (sample, track, notes, loudness) and exits 1 when anything did.
"""
import hashlib
import json
import os
import sys
from collections import Counter

import mido


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tracks(path):
    """[(name, Counter of notes (start tick, channel, pitch, velocity, length))] per MIDI track."""
    out = []
    for track in mido.MidiFile(path).tracks:
        tick, name, sounding, notes = 0, "", {}, Counter()
        for msg in track:
            tick += msg.time
            if msg.type == "track_name":
                name = msg.name
            elif msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif msg.type in ("note_off", "note_on") and sounding.get((msg.channel, msg.note)):
                start, velocity = sounding[(msg.channel, msg.note)].pop(0)
                notes[(start, msg.channel, msg.note, velocity, tick - start)] += 1
        if notes:
            out.append((name, notes))
    return out


def entry(directory, name, command):
    run = json.load(open(os.path.join(directory, name + ".json")))
    render = run.get("render") or {}
    files = run["model"]["files"]
    model = "".join(f["sha256"] for f in files)
    return {
        "name": name,
        "command": command,
        "model_sha256": model if len(files) == 1 else hashlib.sha256(model.encode()).hexdigest(),
        "mid_sha256": sha256(os.path.join(directory, name + ".mid")),
        "wav_sha256": sha256(os.path.join(directory, name + ".wav")),
        "duration_seconds": round(render.get("audio_seconds", 0.0), 3),
        "loudness_lufs": render.get("loudness_lufs"),
        "tracks": [{"name": n, "notes": sum(c.values())} for n, c in tracks(os.path.join(directory, name + ".mid"))],
    }


def write(directory, specs):
    samples = [entry(directory, *spec.split("=", 1)) for spec in specs]
    print(json.dumps({"samples": samples}, indent=1))


def check(manifest_path, old_dir, new_dir):
    manifest = {s["name"]: s for s in json.load(open(manifest_path))["samples"]}
    changed = 0
    for name, old in manifest.items():
        if not os.path.exists(os.path.join(new_dir, name + ".mid")):
            continue  # not regenerated this time (--only)
        new = entry(new_dir, name, old["command"])
        lines = []
        if new["model_sha256"] != old["model_sha256"]:
            lines.append(f"  model changed: sha256 {old['model_sha256'][:12]} -> {new['model_sha256'][:12]}")
        if new["mid_sha256"] != old["mid_sha256"]:
            old_mid = os.path.join(old_dir, name + ".mid")
            before = dict(tracks(old_mid)) if os.path.exists(old_mid) else {}
            after = dict(tracks(os.path.join(new_dir, name + ".mid")))
            for track in list(before) + [t for t in after if t not in before]:
                a, b = before.get(track, Counter()), after.get(track, Counter())
                removed, added = sum((a - b).values()), sum((b - a).values())
                if removed or added:
                    lines.append(f"  track '{track}': {max(removed, added)} of {sum(a.values())} notes changed "
                                 f"({removed} removed, {added} added)")
            if not before:
                lines.append(f"  MIDI changed (no committed {name}.mid to count notes against)")
            elif not any(l.startswith("  track") for l in lines):
                lines.append("  MIDI bytes changed (tempo, controls or names; no note changed)")
        if new["wav_sha256"] != old["wav_sha256"]:
            lo, ln = old.get("loudness_lufs"), new.get("loudness_lufs")
            delta = f" ({ln - lo:+.2f} LU)" if lo is not None and ln is not None else ""
            lines.append(f"  WAV changed: loudness {lo} -> {ln} LUFS{delta}, "
                         f"duration {old['duration_seconds']} -> {new['duration_seconds']} s")
        if lines:
            changed += 1
            print(f"sample {name} changed ({old['command']}):")
            print("\n".join(lines))
        else:
            print(f"sample {name}: unchanged")
    if changed:
        print(f"{changed} sample(s) changed: if intended, run scripts/regenerate_samples.sh --update and commit")
    return 1 if changed else 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:]))
    else:
        sys.exit(__doc__)
