"""Music metrics of sonify outputs as a listener would judge them, measured independently
of sonify: the MIDI read with Debian's python3-mido, the WAV with scipy.io.wavfile.

  music_metrics.py measure FILE.mid [--json RUN.json] [--wav FILE.wav]
  music_metrics.py jaccard A.mid B.mid        onset-only Jaccard of two MIDIs
  music_metrics.py table DIR [DIR ...]        one line per DIR/*.mid (for reports)

`measure` prints one JSON object:
  length_seconds (MIDI, from mido), bars, tempo_bpm, sections [{name, bars, seconds}]
  section_rhythms: {section: {melodic track: distinct onset patterns among its bars}}
  tracks: {name: {channel, drums, notes, distinct_pitches, top_pitch_fraction,
           longest_repeat (longest run of consecutive bars whose notes are identical:
           same onset in the bar, pitch and length; velocity ignored; bars without an
           onset break a run), rest_tie_fraction (16th grid, over the bars from the
           track's first to its last onset: a step is a rest when no note sounds at it,
           a tie when a note sounds that started on an earlier step), accents
           (notes with velocity >= 100 or >= mean + 20), overlaps (notes starting before
           the previous different pitch ended: slides), velocity {min, max, mean},
           intervals {median_abs, mean_abs, within_fifth (fraction |i| <= 7)} of the top
           line (highest pitch per onset), opening (the top line's first 5 intervals), chord_voice_leading (median over changes of
           the mean per-voice movement, optimal voice assignment, for onsets with >= 3
           notes of this track)}}
  empty_tracks: instrument tracks (with a program change) without notes; one_pitch_tracks: melodic tracks with >= 8
  notes, > 80 % of them on one pitch
  max_repeat: longest_repeat over all tracks (drums included)
  ensemble_voice_leading: for onsets where >= 3 melodic tracks start a note of >= 1
    beat together, the mean |pitch change| per track shared with the previous such
    onset; median over the changes (None when fewer than 2)
  midi_gap_seconds: longest time with no note sounding on any track before the last
    note ends
  cc_digest: sha256 of every control change (channel, tick, controller, value)
  under: {"Lead/Pad": share}: for each (upper, lower) pair of tracks present (house
    Lead over Pad), the share of the upper track's notes whose pitch is at or below the
    concurrent top of the lower track: the highest lower note sounding at the onset or
    struck at the lower track's latest onset within the bar before it (so short stabs
    count for the bar they colour); onsets with no lower note that near are skipped
  bass_root (tracks "Bass" and "Pad"): bass notes on the 8th-note grid (downbeats, beats
    and off-beats; swung 16ths are off it) whose pitch class is the root of the Pad's
    latest chord (chord_root of its pitch classes), out of those with a known root; and
    the Pad chord changes during the bass's bars with a bass root on that downbeat
  section_chords: {section: distinct chord roots}: the pitch classes of the chord tracks
    (Pad, or the opera's strings) sounding at each bar's downbeat, named by chord_root
  section_sustain: {section: share of its 16th steps at which a melodic note of at least
    2 beats is sounding} (staccato parts over no held note show as a low share)
  section_static_seconds: {section: longest time between two consecutive onsets of any
    track in the section, or from the last onset to the section's end} (a held cluster)
  section_top_share: {section: {melodic track: share of its notes in the section on the
    section's highest pitch of that track}} (a line returning to one ceiling note)
  window_distinct: {melodic track: {"distinct": fewest distinct pitches in any 8-bar window
    (from bar 0, every 8 bars) in which the track has at least 8 notes and plays in at
    least 6 of the bars, "top_share": the
    largest share of one pitch among a window's notes}} (a bass parked on one note)
  phrase_breaths: {section: {"Lead": share of the section's whole 4-bar phrases whose last
    bar's second half has no Lead note sounding, "answered": share of those breaths in
    which the Pad strikes at least twice}} (house: call and response)
  ending: {"tonic": the lowest note sounding at the last onset (melodic tracks) is the
    key's root pitch class (from --json), "fade": the last bar's mean velocity is under
    the mean velocity of the track it belongs to, for every track playing in it}
  wav (with --wav): seconds, silence_seconds (longest run of 50 ms windows below
    -60 dBFS RMS before the last note ends; the render's reverb tail is not counted),
    integrated_lufs, quiet10_lu (integrated minus the 10th percentile of the 3 s
    short-term loudness, 1 s hop, over the windows that end before the last note ends),
    section_lu (with --json: each section's ungated loudness minus the integrated)

Loudness is BS.1770-4 as pyloudnorm computes it: the K-weighting is the two biquads
(high shelf +4 dB at 1500 Hz, Q 1/sqrt(2); high pass 38 Hz, Q 0.5) designed with the RBJ
cookbook formulas at the file's own rate (exact at 48 kHz, within 0.1 dB at 44.1 kHz),
applied with scipy.signal.lfilter; loudness = -0.691 + 10 log10(sum of channel mean
squares); integrated = 400 ms blocks with 75 % overlap, gated at -70 LUFS then at the
ungated mean -10 LU. Short-term windows are not gated.
"""
import hashlib
import json
import os
import statistics
import sys
from itertools import permutations

import mido
import numpy as np


def read_midi(path):
    mid = mido.MidiFile(path)
    ppq = mid.ticks_per_beat
    tracks, controls, tempos, markers = [], [], [], []
    for track in mid.tracks:
        tick, name, channel, open_notes, notes, program = 0, None, None, {}, [], None
        for msg in track:
            tick += msg.time
            if msg.type == "track_name" and name is None:
                name = msg.name
            elif msg.type == "set_tempo":
                tempos.append((tick, msg.tempo))
            elif msg.type == "marker":
                markers.append((tick, msg.text))
            elif msg.type == "program_change":
                program, channel = msg.program, msg.channel if channel is None else channel
            elif msg.type == "control_change":
                controls.append((msg.channel, tick, msg.control, msg.value))
            elif msg.type == "note_on" and msg.velocity > 0:
                channel = msg.channel
                open_notes.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif msg.type in ("note_off", "note_on"):
                k = (msg.channel, msg.note)
                if open_notes.get(k):
                    start, vel = open_notes[k].pop(0)
                    notes.append((start, tick, msg.note, vel, msg.channel))
        if name is not None or notes:
            if channel is None and notes:
                channel = notes[0][4]
            notes.sort()
            tracks.append({"name": name or f"track {len(tracks)}", "channel": channel, "notes": notes,
                           "instrument": program is not None or bool(notes)})
    return mid, ppq, tracks, controls, tempos, markers


def longest_repeat(notes, bar):
    by_bar = {}
    for start, end, pitch, vel, ch in notes:
        by_bar.setdefault(start // bar, []).append((start % bar, pitch, end - start))
    best, run, prev_b, prev = 0, 0, None, None
    for b in sorted(by_bar):
        content = tuple(sorted(by_bar[b]))
        if prev_b is not None and b == prev_b + 1 and content == prev:
            run += 1
        else:
            run = 1
        best = max(best, run)
        prev_b, prev = b, content
    return best


def rest_tie_fraction(notes, bar):
    if not notes:
        return None
    step = bar // 16
    first = notes[0][0] // bar * bar
    last = (max(n[0] for n in notes) // bar + 1) * bar
    n_steps = (last - first) // step
    onset = np.zeros(n_steps, bool)
    sounding = np.zeros(n_steps, bool)
    for start, end, pitch, vel, ch in notes:
        s0 = (start - first) // step
        if 0 <= s0 < n_steps:
            onset[s0] = True
        # a step sounds when the note covers the step's start
        a = -(-(start - first) // step)
        b = -(-(end - first) // step)
        sounding[max(a, 0):min(b, n_steps)] = True
    rests = np.count_nonzero(~sounding & ~onset)
    ties = np.count_nonzero(sounding & ~onset)
    return float((rests + ties) / n_steps), float(rests / n_steps), float(ties / n_steps)


def top_line(notes):
    by_start = {}
    for start, end, pitch, vel, ch in notes:
        by_start[start] = max(by_start.get(start, -1), pitch)
    return [by_start[k] for k in sorted(by_start)]


def interval_stats(notes):
    line = top_line(notes)
    iv = [abs(b - a) for a, b in zip(line, line[1:])]
    if not iv:
        return None
    return {"median_abs": float(statistics.median(iv)), "mean_abs": float(np.mean(iv)),
            "within_fifth": float(np.mean([i <= 7 for i in iv]))}


def voice_movement(a, b):
    """Mean per-voice movement between two chords (sorted pitch lists), optimal assignment."""
    a, b = sorted(a), sorted(b)
    if len(a) > len(b):
        a, b = b, a
    if len(b) <= 7:
        best = min(sum(abs(x - y) for x, y in zip(a, perm)) for perm in permutations(b, len(a)))
    else:
        best = sum(abs(x - y) for x, y in zip(a, b[:len(a)]))
    return best / len(a)


def chord_voice_leading(notes):
    by_start = {}
    for start, end, pitch, vel, ch in notes:
        by_start.setdefault(start, []).append(pitch)
    chords = [sorted(set(v)) for k, v in sorted(by_start.items()) if len(set(v)) >= 3]
    moves = [voice_movement(a, b) for a, b in zip(chords, chords[1:]) if a != b]
    return float(statistics.median(moves)) if moves else None


def ensemble_voice_leading(tracks, ppq):
    at = {}
    for t in tracks:
        if t["channel"] == 9:
            continue
        for start, end, pitch, vel, ch in t["notes"]:
            if end - start >= ppq:
                cur = at.setdefault(start, {})
                cur[t["name"]] = max(cur.get(t["name"], -1), pitch)
    chords = [v for k, v in sorted(at.items()) if len(v) >= 3]
    moves = []
    for a, b in zip(chords, chords[1:]):
        common = [n for n in a if n in b]
        if common and any(a[n] != b[n] for n in common):
            moves.append(float(np.mean([abs(a[n] - b[n]) for n in common])))
    return float(statistics.median(moves)) if moves else None


def chord_root(pcs):
    """Root of a diatonic triad or seventh chord (complete or missing a tone) given its
    pitch classes: the one tone from which every other lies a third, a fifth
    (diminished or perfect) or a seventh above; None when no tone or several qualify."""
    pcs = set(pcs)
    roots = [x for x in pcs if all((p - x) % 12 in (0, 3, 4, 6, 7, 10, 11) for p in pcs)]
    return roots[0] if len(roots) == 1 else None


def chord_at(notes, t, window):
    """Pitches of `notes` sounding at tick t, plus those struck at the latest onset in
    (t - window, t]."""
    sounding = [n[2] for n in notes if n[0] <= t < n[1]]
    starts = [n[0] for n in notes if t - window < n[0] <= t]
    if starts:
        last = max(starts)
        sounding += [n[2] for n in notes if n[0] == last]
    return sounding


def under_share(upper, lower, window):
    """Share of `upper` notes at or below the concurrent top of `lower` (None: no overlap)."""
    hits = total = 0
    for start, end, pitch, vel, ch in upper:
        below = chord_at(lower, start, window)
        if below:
            total += 1
            hits += pitch <= max(below)
    return hits / total if total else None


def bass_root(bass, pad, ppq, window):
    grid = ppq // 2
    checked = root = 0
    for start, end, pitch, vel, ch in bass:
        if start % grid:
            continue
        r = chord_root({p % 12 for p in chord_at(pad, start, window)})
        if r is None:
            continue
        checked += 1
        root += pitch % 12 == r
    # Chord changes of the pad during the bars the bass plays.
    bass_bars = {n[0] // (4 * ppq) for n in bass}
    onsets = sorted({n[0] for n in pad})
    changes = with_root = 0
    prev = None
    for t in onsets:
        r = chord_root({n[2] % 12 for n in pad if n[0] == t})
        if r is not None and prev is not None and r != prev and t % (4 * ppq) == 0 and t // (4 * ppq) in bass_bars:
            changes += 1
            with_root += any(n[0] == t and n[2] % 12 == r for n in bass)
        if r is not None:
            prev = r
    return {"grid_notes": checked, "grid_root": root, "changes": changes, "changes_with_root": with_root}


CHORD_TRACKS = ("Pad", "Violins I", "Violins II Viola", "Cellos", "Contrabasses")


def section_chords(tracks, sections, bar):
    notes = [n for t in tracks if t["name"] in CHORD_TRACKS for n in t["notes"]]
    out = {}
    for sec in sections:
        roots = set()
        for b in range(sec["first_bar"], sec["end_bar"]):
            r = chord_root({p % 12 for p in chord_at(notes, b * bar, 1)})
            if r is not None:
                roots.add(r)
        out[sec["name"]] = len(roots)
    return out


def midi_gap(tracks):
    spans = sorted((n[0], n[1]) for t in tracks for n in t["notes"])
    if not spans:
        return 0, 0
    gap, reach = spans[0][0], spans[0][1]
    for s, e in spans[1:]:
        if s > reach:
            gap = max(gap, s - reach)
        reach = max(reach, e)
    return gap, reach


def k_weighting(rate):
    from scipy import signal  # noqa: F401 (used by the caller)
    out = []
    for kind, gain, q, fc in (("shelf", 4.0, 1 / np.sqrt(2), 1500.0), ("hp", 0.0, 0.5, 38.0)):
        a_ = 10 ** (gain / 40.0)
        w0 = 2 * np.pi * fc / rate
        alpha = np.sin(w0) / (2 * q)
        c = np.cos(w0)
        if kind == "shelf":
            b = [a_ * ((a_ + 1) + (a_ - 1) * c + 2 * np.sqrt(a_) * alpha), -2 * a_ * ((a_ - 1) + (a_ + 1) * c),
                 a_ * ((a_ + 1) + (a_ - 1) * c - 2 * np.sqrt(a_) * alpha)]
            a = [(a_ + 1) - (a_ - 1) * c + 2 * np.sqrt(a_) * alpha, 2 * ((a_ - 1) - (a_ + 1) * c),
                 (a_ + 1) - (a_ - 1) * c - 2 * np.sqrt(a_) * alpha]
        else:
            b = [(1 + c) / 2, -(1 + c), (1 + c) / 2]
            a = [1 + alpha, -2 * c, 1 - alpha]
        out.append((np.array(b) / a[0], np.array(a) / a[0]))
    return out


def wav_metrics(path, music_end_s, sections_s=()):
    from scipy import signal
    from scipy.io import wavfile
    rate, data = wavfile.read(path)
    full = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}.get(data.dtype, 1.0)
    x = data.astype(np.float64) / full
    if x.ndim == 1:
        x = x[:, None]
    seconds = x.shape[0] / rate
    # silence: 50 ms windows
    w = int(rate * 0.05)
    n = x.shape[0] // w
    rms = np.sqrt(np.mean(x[:n * w].reshape(n, w, -1) ** 2, axis=(1, 2)))
    db = 20 * np.log10(np.maximum(rms, 1e-12))
    limit = min(n, int(np.ceil(music_end_s / 0.05)))
    best = run = 0
    for i in range(limit):
        run = run + 1 if db[i] < -60 else 0
        best = max(best, run)
    # loudness
    y = x
    for b, a in k_weighting(rate):
        y = signal.lfilter(b, a, y, axis=0)
    sq = y ** 2

    def loud(ms):
        return -0.691 + 10 * np.log10(max(ms, 1e-20))

    blk, hop = int(0.4 * rate), int(0.1 * rate)
    blocks = np.array([sq[i:i + blk].mean(axis=0).sum() for i in range(0, sq.shape[0] - blk + 1, hop)])
    lk = np.array([loud(m) for m in blocks])
    gated = blocks[lk > -70]
    integrated = None
    if gated.size:
        rel = loud(gated.mean()) - 10
        g2 = blocks[(lk > -70) & (lk > rel)]
        integrated = loud(g2.mean()) if g2.size else None
    win = 3 * rate
    st = [loud(sq[i:i + win].mean(axis=0).sum()) for i in range(0, sq.shape[0] - win + 1, rate)
          if (i + win) / rate <= music_end_s + 1e-9]
    quiet = float(integrated - np.percentile(st, 10)) if st and integrated is not None else None
    section_lu = {}
    for name, t0, t1 in sections_s:
        seg = sq[int(t0 * rate):int(t1 * rate)]
        if seg.size and integrated is not None:
            section_lu[name] = float(loud(seg.mean(axis=0).sum()) - integrated)
    return {"seconds": seconds, "silence_seconds": best * 0.05, "integrated_lufs": integrated,
            "quiet10_lu": quiet, "short_term_min": float(min(st)) if st else None, "section_lu": section_lu}


def section_figures(tracks, sections, ppq, sec_per_tick):
    bar = 4 * ppq
    step = ppq // 4
    mel = [t for t in tracks if t["channel"] != 9 and t["notes"]]
    out = {"section_sustain": {}, "section_static_seconds": {}, "section_top_share": {}, "phrase_breaths": {}}
    for sec in sections:
        a, b = sec["first_bar"] * bar, sec["end_bar"] * bar
        name = sec["name"]
        held = [(n[0], n[1]) for t in mel for n in t["notes"] if n[1] - n[0] >= 2 * ppq and n[0] < b and n[1] > a]
        steps = range(a, b, step)
        out["section_sustain"][name] = float(np.mean([any(s0 <= x < e0 for s0, e0 in held) for x in steps]))
        ons = sorted({n[0] for t in tracks for n in t["notes"] if a <= n[0] < b})
        gaps = [y - x for x, y in zip([a] + ons, ons + [b])]
        out["section_static_seconds"][name] = max(gaps) * sec_per_tick
        tops = {}
        for t in mel:
            ps = [n[2] for n in t["notes"] if a <= n[0] < b]
            if len(ps) >= 8:
                tops[t["name"]] = ps.count(max(ps)) / len(ps)
        out["section_top_share"][name] = tops
        lead = next((t["notes"] for t in mel if t["name"] == "Lead"), None)
        pad = next((t["notes"] for t in mel if t["name"] == "Pad"), [])
        if lead:
            phrases = breathing = answered = 0
            for w in range(sec["first_bar"], sec["end_bar"] - 3, 4):
                half = (w + 3) * bar + bar // 2
                phrases += 1
                if not any(n[0] < half + bar // 2 and n[1] > half for n in lead):
                    breathing += 1
                    answered += len({n[0] for n in pad if half <= n[0] < half + bar // 2}) >= 2
            if phrases:
                out["phrase_breaths"][name] = {"Lead": breathing / phrases,
                                               "answered": answered / breathing if breathing else 0.0}
    return out


def window_distinct(tracks, ppq):
    bar = 4 * ppq
    out = {}
    for t in tracks:
        if t["channel"] == 9 or not t["notes"]:
            continue
        wins, played = {}, {}
        for n in t["notes"]:
            wins.setdefault(n[0] // (8 * bar), []).append(n[2])
            played.setdefault(n[0] // (8 * bar), set()).add(n[0] // bar)
        full = [v for k, v in wins.items() if len(v) >= 8 and len(played[k]) >= 6]
        if full:
            out[t["name"]] = {"distinct": min(len(set(v)) for v in full),
                              "top_share": max(max(v.count(p) for p in set(v)) / len(v) for v in full)}
    return out


def ending(tracks, root_pc, bar):
    mel = [t for t in tracks if t["channel"] != 9 and t["notes"]]
    if not mel:
        return None
    last = max(n[0] for t in mel for n in t["notes"])
    low = min(n[2] for t in mel for n in t["notes"] if n[0] <= last < n[1])
    last_bar = last // bar
    fade = True
    for t in mel:
        tail = [n[3] for n in t["notes"] if n[0] // bar == last_bar]
        if tail:
            fade = fade and np.mean(tail) < np.mean([n[3] for n in t["notes"]])
    return {"tonic": root_pc is not None and low % 12 == root_pc, "fade": bool(fade)}


def measure(mid_path, json_path=None, wav_path=None):
    mid, ppq, tracks, controls, tempos, markers = read_midi(mid_path)
    bar = 4 * ppq
    tempo_us = tempos[0][1] if tempos else 500000
    sec_per_tick = tempo_us / 1e6 / ppq
    out = {"length_seconds": mid.length, "tempo_bpm": 60e6 / tempo_us, "tracks": {}}
    end_tick = max((n[1] for t in tracks for n in t["notes"]), default=0)
    out["bars"] = -(-end_tick // bar)
    if json_path:
        run = json.load(open(json_path))
        out["sections"] = [{"name": s["name"], "bars": s["end_bar"] - s["first_bar"],
                            "seconds": (s["end_bar"] - s["first_bar"]) * bar * sec_per_tick} for s in run["sections"]]
        # Distinct rhythms (onset positions within the bar) per section and melodic track.
        out["section_rhythms"] = {}
        for sec in run["sections"]:
            per = {}
            for t in tracks:
                if t["channel"] == 9 or not t["notes"]:
                    continue
                bars_ = {}
                for n in t["notes"]:
                    if sec["first_bar"] <= n[0] // bar < sec["end_bar"]:
                        bars_.setdefault(n[0] // bar, set()).add(n[0] % bar)
                if bars_:
                    per[t["name"]] = len({tuple(sorted(v)) for v in bars_.values()})
            out["section_rhythms"][sec["name"]] = per
        # Accents (notes at least 20 louder than the section's softest) and slides (a note
        # starting under the previous one, at another pitch) in every whole 4-bar phrase of
        # each section, per melodic track: the fewest any phrase has.
        out["section_articulation"] = {}
        for sec in run["sections"]:
            per = {}
            for t in tracks:
                if t["channel"] == 9 or not t["notes"]:
                    continue
                ns = [n for n in t["notes"] if sec["first_bar"] <= n[0] // bar < sec["end_bar"]]
                if not ns:
                    continue
                soft = min(n[3] for n in ns)
                acc, sl = [], []
                for w in range(sec["first_bar"], sec["end_bar"] - 3, 4):
                    wn = [n for n in ns if w <= n[0] // bar < w + 4]
                    acc.append(sum(1 for n in wn if n[3] >= soft + 20))
                    sl.append(sum(1 for a, b in zip(wn, wn[1:]) if a[0] < b[0] < a[1] and b[2] != a[2]))
                if acc:
                    per[t["name"]] = {"accents": min(acc), "slides": min(sl)}
            out["section_articulation"][sec["name"]] = per
    empty, one_pitch, max_rep = [], [], 0
    for t in tracks:
        notes = t["notes"]
        drums = t["channel"] == 9
        if not t["instrument"]:  # the conductor track (tempo, markers)
            continue
        m = {"channel": t["channel"], "drums": drums, "notes": len(notes)}
        if not notes:
            empty.append(t["name"])
            out["tracks"][t["name"]] = m
            continue
        pitches = [n[2] for n in notes]
        counts = np.bincount(pitches)
        vel = [n[3] for n in notes]
        m["distinct_pitches"] = int(np.count_nonzero(counts))
        # Notes within a whole tone of the track's highest pitch: a line pressed against
        # the top of its range shows as a large share.
        m["top_band_fraction"] = float(np.mean(np.array(pitches) >= max(pitches) - 2))
        m["top_pitch_fraction"] = float(counts.max() / len(notes))
        m["longest_repeat"] = longest_repeat(notes, bar)
        max_rep = max(max_rep, m["longest_repeat"])
        m["velocity"] = {"min": min(vel), "max": max(vel), "mean": float(np.mean(vel))}
        m["accents"] = int(sum(v >= 100 or v >= np.mean(vel) + 20 for v in vel))
        if not drums:
            rt = rest_tie_fraction(notes, bar)
            m["rest_tie_fraction"], m["rest_fraction"], m["tie_fraction"] = rt
            m["intervals"] = interval_stats(notes)
            line = top_line(notes)[:6]
            m["opening"] = [b - a for a, b in zip(line, line[1:])]
            m["chord_voice_leading"] = chord_voice_leading(notes)
            ov = 0
            for a, b in zip(notes, notes[1:]):
                if b[0] < a[1] and b[2] != a[2] and b[0] > a[0]:
                    ov += 1
            m["overlaps"] = ov
            if len(notes) >= 8 and m["top_pitch_fraction"] > 0.8:
                one_pitch.append(t["name"])
        out["tracks"][t["name"]] = m
    out["empty_tracks"] = empty
    out["one_pitch_tracks"] = one_pitch
    out["max_repeat"] = max_rep
    out["ensemble_voice_leading"] = ensemble_voice_leading(tracks, ppq)
    gap, reach = midi_gap(tracks)
    out["midi_gap_seconds"] = gap * sec_per_tick
    out["music_end_seconds"] = reach * sec_per_tick
    by_name = {t["name"]: t["notes"] for t in tracks}
    out["under"] = {}
    for upper, lower in (("Lead", "Pad"), ("Bells", "Organ")):
        if by_name.get(upper) and by_name.get(lower):
            out["under"][f"{upper}/{lower}"] = under_share(by_name[upper], by_name[lower], bar)
    if by_name.get("Bass") and by_name.get("Pad"):
        out["bass_root"] = bass_root(by_name["Bass"], by_name["Pad"], ppq, bar)
    out["window_distinct"] = window_distinct(tracks, ppq)
    if json_path:
        out["section_chords"] = section_chords(tracks, run["sections"], bar)
        out.update(section_figures(tracks, run["sections"], ppq, sec_per_tick))
        out["ending"] = ending(tracks, run.get("key", {}).get("root"), bar)
    out["cc_digest"] = hashlib.sha256(json.dumps(sorted(controls)).encode()).hexdigest()
    if wav_path:
        secs = [(sc["name"], sc["first_bar"] * bar * sec_per_tick, sc["end_bar"] * bar * sec_per_tick)
                for sc in run["sections"]] if json_path else []
        out["wav"] = wav_metrics(wav_path, reach * sec_per_tick, secs)
    return out


def onsets(path):
    mid, ppq, tracks, *_ = read_midi(path)
    s = set()
    for t in tracks:
        for n in t["notes"]:
            s.add((n[4], round(n[0] * 48 / ppq)))  # channel, onset in 1/48 beats
    return s


def jaccard(a, b):
    sa, sb = onsets(a), onsets(b)
    return len(sa & sb) / max(1, len(sa | sb))


def row(d, name):
    m = measure(os.path.join(d, name + ".mid"), os.path.join(d, name + ".json") if os.path.exists(
        os.path.join(d, name + ".json")) else None,
        os.path.join(d, name + ".wav") if os.path.exists(os.path.join(d, name + ".wav")) else None)
    mel = {k: v for k, v in m["tracks"].items() if not v["drums"] and v["notes"]}
    rt = [v["rest_tie_fraction"] for v in mel.values()]
    iv = [v["intervals"]["median_abs"] for v in mel.values() if v.get("intervals")]
    wav = m.get("wav", {})
    fmt = lambda x, f="{:.2f}": "-" if x is None else f.format(x)  # noqa: E731
    return (f"{name:6} {m['length_seconds']:7.1f}s rep={m['max_repeat']:3d} "
            f"rest/tie={fmt(min(rt) if rt else None)}..{fmt(max(rt) if rt else None)} "
            f"ivmed={fmt(max(iv) if iv else None, '{:.1f}')} "
            f"ensVL={fmt(m['ensemble_voice_leading'], '{:.1f}')} "
            f"empty={m['empty_tracks']} onepitch={m['one_pitch_tracks']} gap={m['midi_gap_seconds']:.2f}s "
            f"sil={fmt(wav.get('silence_seconds'))}s quiet10={fmt(wav.get('quiet10_lu'), '{:.1f}')}LU "
            f"sections={[s['bars'] for s in m.get('sections', [])]}")


def main(argv):
    if argv[:1] == ["measure"]:
        args = argv[1:]
        mid = args[0]
        jp = args[args.index("--json") + 1] if "--json" in args else None
        wp = args[args.index("--wav") + 1] if "--wav" in args else None
        print(json.dumps(measure(mid, jp, wp)))
    elif argv[:1] == ["jaccard"] and len(argv) == 3:
        print(json.dumps({"jaccard": jaccard(argv[1], argv[2])}))
    elif argv[:1] == ["table"]:
        for d in argv[1:]:
            for f in sorted(os.listdir(d)):
                if f.endswith(".mid"):
                    print(os.path.basename(d.rstrip("/")), row(d, f[:-4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
