#!/usr/bin/python3
"""Checks for `sonify generate --monitor` (issue 16, the notebooks' §20).

  monitor_check.py voice WAV JSON        the WAV against a float64 re-synthesis of the voice from
                                         the record's surprisals and raw scores; prints a summary
  monitor_check.py live SONIFY MODEL DIR reads `--monitor -` from the pipe while it runs; notes
                                         when the first audio arrived against the record's clock
  monitor_check.py sigint SONIFY MODEL DIR PAIRS
                                         SIGINT once the WAV being written holds two tokens
"""
import json
import math
import os
import signal
import subprocess
import sys
import time
import wave

import numpy as np
from scipy.signal import lfilter

RATE = 44100


def quantized_note(x, d, threshold=0.5):
    """§20's get_quantized_frequency up to the MIDI note (harmonic_math.py), as the spec gives it."""
    if not (math.isfinite(x) and math.isfinite(d)):
        return -1
    s = 1.0 / (1.0 + math.exp(-x))
    target = 48 + 36 * s
    octave = math.floor(target / 12)
    pc = target % 12
    allowed = [0, 2, 4, 7, 9] + ([1, 6] if d >= threshold else [])
    best = min(allowed, key=lambda c: abs(c - pc))
    return 12 * octave + best


def voice(record):
    step = record["step_seconds"]
    frames = round(step * RATE)
    glide = max(1, round(0.01 * RATE))
    alpha = 0.9 ** (step / 0.05)
    max_s = math.log(record["vocab_size"])
    score = 0.0
    out, per_token = [], []
    pc = pm = 0.0
    zi = np.zeros(2)
    prev_hz = prev_index = None

    def block(n, hz0, hz1, i0, i1, b, a, k, fade):
        nonlocal pc, pm, zi
        fm = np.empty(n)
        for i in range(n):
            r = min(1.0, (i + 1) / glide)
            hz = hz0 + (hz1 - hz0) * r
            index = i0 + (i1 - i0) * r
            g = 1.0 - r if fade else 1.0
            fm[i] = g * 0.2 * math.sin(pc + index * math.sin(pm))
            pc += 2 * math.pi * hz / RATE
            pm += 2 * math.pi * 0.5 * hz / RATE
            if pc >= 2 * math.pi:
                pc -= 2 * math.pi
            if pm >= 2 * math.pi:
                pm -= 2 * math.pi
        y, zi = lfilter(b, a, fm, zi=zi)
        return 0.8 * (1 + k) * y / (1 + k * np.abs(y))

    for t in record["tokens"]:
        raw = min(1.0, max(0.0, t["raw_score"]))
        score = alpha * score + (1 - alpha) * raw
        x = 4 * t["surprisal"] / max_s - 2
        note = quantized_note(x, score)
        hz = min(2000.0, max(60.0, 440 * 2 ** ((note - 69) / 12)))
        index = 2 + 10 * score
        cutoff = min(1000 + 8000 * score, 0.45 * RATE)
        w0 = 2 * math.pi * cutoff / RATE
        al = math.sin(w0) / 2
        b = np.array([(1 - math.cos(w0)) / 2, 1 - math.cos(w0), (1 - math.cos(w0)) / 2]) / (1 + al)
        a = np.array([1.0, -2 * math.cos(w0) / (1 + al), (1 - al) / (1 + al)])
        drive = 0.9 * score
        k = 2 * drive / (1 - drive)
        h0 = hz if prev_hz is None else prev_hz
        i0 = index if prev_index is None else prev_index
        out.append(block(frames, h0, hz, i0, index, b, a, k, False))
        prev_hz, prev_index = hz, index
        per_token.append({"score": score, "note": note, "hz": hz})
    if record["tokens"]:
        out.append(block(glide, prev_hz, prev_hz, prev_index, prev_index, b, a, k, True))
    return (np.concatenate(out) if out else np.zeros(0)), per_token


def check_voice(wav_path, json_path):
    record = json.load(open(json_path))
    with wave.open(wav_path) as w:
        assert w.getnchannels() == 2 and w.getsampwidth() == 2 and w.getframerate() == RATE
        frames = w.getnframes()
        pcm = np.frombuffer(w.readframes(frames), dtype="<i2").reshape(-1, 2).astype(np.float64)
    want, per_token = voice(record)
    n = min(len(want), len(pcm))
    diff = np.abs(pcm[:n, 0] - np.clip(want[:n], -1, 1) * 32767)
    table = max(
        max(abs(p["score"] - t["score"]), abs(p["hz"] - t["hz"]), abs(p["note"] - t["note"]))
        for p, t in zip(per_token, record["tokens"])) if per_token else 0.0
    print(json.dumps({
        "frames": frames, "oracle_frames": len(want), "file_bytes": os.path.getsize(wav_path),
        "max_lsb_diff": float(diff.max()) if n else 0.0, "channels_equal": bool(np.all(pcm[:, 0] == pcm[:, 1])),
        "max_table_diff": table, "peak": float(np.abs(pcm).max()) / 32767 if n else 0.0,
        "notes": sorted({p["note"] for p in per_token})}))


def live(sonify, model, out_dir):
    rec = os.path.join(out_dir, "live.json")
    p = subprocess.Popen([sonify, "generate", "Once upon a time", "-m", model, "-n", "100", "--no-stop",
                          "--monitor", "-", "--monitor-json", rec], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    header = p.stdout.read(44)
    first = p.stdout.read(4)  # the first sample frame of the first token's block
    first_at = time.monotonic()
    running = p.poll() is None
    rest = p.stdout.read()
    err = p.stderr.read()
    rc = p.wait()
    timing = json.load(open(os.path.join(out_dir, "live.timing.json")))["tokens"]
    with open(os.path.join(out_dir, "live.raw"), "wb") as f:
        f.write(header + first + rest)
    print(json.dumps({"rc": rc, "stderr": err.decode(errors="replace"), "running_at_first_audio": running,
                      "first_audio_at": first_at, "first_logits_at": timing[0]["logits_at"],
                      "last_logits_at": timing[-1]["logits_at"], "tokens": len(timing),
                      "tokens_logged_before_first_audio": sum(t["logits_at"] < first_at for t in timing),
                      "bytes": 44 + 4 + len(rest)}))


def interrupt(sonify, model, out_dir, pairs):
    wav = os.path.join(out_dir, "cut.wav")
    p = subprocess.Popen([sonify, "generate", "Once upon a time", "-m", model, "-n", "120", "--no-stop",
                          "--monitor", wav, "--direction", pairs], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    two_tokens = 44 + 2 * round(0.2 * RATE) * 4
    deadline = time.monotonic() + 120
    sent = False
    while time.monotonic() < deadline and p.poll() is None:
        partial = [f for f in os.listdir(out_dir) if ".partial-" in f and f.endswith(".wav")]
        if partial and os.path.getsize(os.path.join(out_dir, partial[0])) >= two_tokens:
            p.send_signal(signal.SIGINT)
            sent = True
            break
        time.sleep(0.002)
    out, err = p.communicate()
    print(json.dumps({"rc": p.returncode, "sent": sent, "stderr": err.decode(errors="replace"),
                      "files": sorted(os.listdir(out_dir))}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "voice":
        check_voice(sys.argv[2], sys.argv[3])
    elif mode == "live":
        live(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "sigint":
        interrupt(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit("unknown mode " + mode)
