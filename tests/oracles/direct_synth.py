#!/usr/bin/python3
"""Float64 numpy oracle of sonify's direct synthesis styles (include/sonify/synth.h), written
from SPEC-notebooks.md §8-§10 with the fixes the issue asks for: sections overlap by their
fade (a real crossfade), one gain for the whole piece, a seeded impulse response scaled to
unit energy whose tail is kept. PCA phases through scikit-learn, convolution through scipy.

  direct_synth.py STYLE STACK.f32 STATES TOKENS WIDTH SEED OUT.f64
      reads float32 hidden states [STATES, TOKENS, WIDTH], writes the stereo audio as
      interleaved float64 (peak 0.5, as sonify before mastering) to OUT.f64 and prints the
      partial table as JSON.
  direct_synth.py --trace STYLE TRACE.safetensors SEED OUT.f64
      the same from a `sonify trace` file: hook_embed, then blocks.N.hook_resid_post.
"""
import json
import struct
import sys

import numpy as np
from scipy.signal import fftconvolve
from sklearn.decomposition import PCA

SR = 44100
M64 = (1 << 64) - 1


def splitmix_normals(seed, n):
    """The generator sonify uses: splitmix64 bits, Box-Muller (both normals of a pair: r cos, r sin)."""
    m = (n + 1) // 2
    with np.errstate(over="ignore"):
        state = np.uint64(seed & M64) + np.arange(1, 2 * m + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    top = (z >> np.uint64(11)).astype(np.float64)
    u1 = (top[0::2] + 0.5) / 9007199254740992.0
    u2 = top[1::2] / 9007199254740992.0
    r, angle = np.sqrt(-2 * np.log(u1)), 2 * np.pi * u2
    out = np.empty(2 * m)
    out[0::2] = r * np.cos(angle)
    out[1::2] = r * np.sin(angle)
    return out[:n]


def mix_seed(seed, a, b):
    return ((seed * 0x100000001B3) & M64) ^ (((a + 1) * 0x9E3779B97F4A7C15) & M64) ^ \
        (((b + 1) * 0xC2B2AE3D27D4EB4F) & M64)


def reverb(x, room, damping, wet, seed):
    n = max(1, int(round(room * 3.0 * SR)))
    u = np.linspace(0, 6 * room * 3.0, n)
    ir = splitmix_normals(seed, n) * np.exp(-damping * u)
    ir /= np.sqrt(np.sum(ir * ir))
    y = wet * fftconvolve(x, ir)
    y[:len(x)] += (1 - wet) * x
    return y


def fade(x, n):
    n = min(n, len(x) // 2)
    g = np.arange(n) / n
    x[:n] *= g
    x[len(x) - n:] *= g[::-1]
    return x


def add_at(out, x, at):
    if len(out) < at + len(x):
        out = np.concatenate([out, np.zeros(at + len(x) - len(out))])
    out[at:at + len(x)] += x
    return out


def amplitudes(h):
    a = np.linalg.norm(h.astype(np.float64), axis=2)
    return a / (a.max() + 1e-9)


def phases(h):
    s, t, _ = h.shape
    ph = np.zeros((s, t))
    if t < 2:
        return ph
    for layer in range(s):
        z = PCA(n_components=2).fit_transform(h[layer].astype(np.float64))
        ph[layer] = np.arctan2(z[:, 1], z[:, 0])
    return ph


def thinking(h):
    s, t, _ = h.shape
    f = np.exp(np.linspace(np.log(80), np.log(5000), t))
    a, ph = amplitudes(h), phases(h)
    n, fd = round(1.2 * SR), round(0.15 * SR)
    k = np.arange(n)
    out = np.zeros(0)
    for layer in range(s):
        x = np.sum(a[layer][:, None] * np.sin(2 * np.pi * f[:, None] * k[None, :] / SR + ph[layer][:, None]), axis=0)
        out = add_at(out, fade(x, fd), layer * (n - fd))
    table = {"frequency_hz": [f.tolist()] * s, "amplitude": a.tolist(), "phase": ph.tolist()}
    return out, out, table


def operatic(h, seed):
    s, t, _ = h.shape
    scale = []
    for o in range(4):
        for st in (0, 2, 3, 5, 7, 9, 10, 12):
            v = 110.0 * 2 ** (o + st / 12)
            if not scale or abs(scale[-1] - v) > 1e-9:
                scale.append(v)
    scale = np.array(scale)
    f = np.array([scale[np.argmin(np.abs(scale - x))] for x in np.exp(np.linspace(np.log(110), np.log(1760), t))])
    a0, ph = amplitudes(h), phases(h)
    w = np.array([1.0, 0.6, 0.35, 0.2, 0.12, 0.07, 0.04])
    n, fd = round(2.5 * SR), round(0.6 * SR)
    k = np.arange(n)
    x01 = k / n
    dry = []
    for layer in range(s):
        left, right = np.zeros(n), np.zeros(n)
        for tok in range(t):
            a = a0[layer, tok] ** 0.6
            rate, depth = 4.8 + 0.15 * tok, 0.008 + 0.01 * a
            pan = 0.0 if t == 1 else -1 + 2 * tok / (t - 1)
            v = 1 + depth * np.sin(2 * np.pi * rate * k / SR)
            theta = 2 * np.pi * f[tok] * np.cumsum(v) / SR
            sig = sum(w[i] * np.sin((i + 1) * theta + ph[layer, tok]) for i in range(7)) / w.sum()
            att = 0.1 + 0.1 * a
            env = np.where(x01 < att, x01 / att,
                           np.where(x01 < att + 0.08, 1 - 0.2 * (x01 - att) / 0.08,
                                    np.where(x01 < 0.8, 0.8, 0.8 * (1 - x01) / 0.2)))
            voice = a * env * sig
            left += np.sqrt((1 - pan) / 2) * voice
            right += np.sqrt((1 + pan) / 2) * voice
        dry.append((left, right))
    peak = max(max(np.abs(l).max(), np.abs(r).max()) for l, r in dry)
    out_l, out_r = np.zeros(0), np.zeros(0)
    for layer, (left, right) in enumerate(dry):
        room = 0.3 + 0.5 * layer / s
        at = layer * (n - fd)
        out_l = add_at(out_l, reverb(fade(left / peak, fd), room, 0.4, 0.3, mix_seed(seed, layer, 0)), at)
        out_r = add_at(out_r, reverb(fade(right / peak, fd), room, 0.4, 0.3, mix_seed(seed, layer, 1)), at)
    out_l = reverb(out_l, 1.2, 0.2, 0.2, mix_seed(seed, s, 0))
    out_r = reverb(out_r, 1.2, 0.2, 0.2, mix_seed(seed, s, 1))
    table = {"frequency_hz": [f.tolist()] * s, "amplitude": (a0 ** 0.6).tolist(), "phase": ph.tolist()}
    return out_l, out_r, table


def sines(h):
    x = h[-1].astype(np.float64)
    var = x.var(axis=0)
    dims = np.argsort(-var, kind="stable")[:128]
    f = np.exp(np.linspace(np.log(60), np.log(4000), len(dims)))
    block = x[:, dims]
    a = np.abs(block) / (np.abs(block).max() + 1e-9)
    ph = np.where(block >= 0, 0.0, np.pi)
    n, fd = round(0.3 * SR), round(0.02 * SR)
    k = np.arange(n)
    out = np.zeros(0)
    for tok in range(x.shape[0]):
        note = np.sum(a[tok][:, None] * np.sin(2 * np.pi * f[:, None] * k[None, :] / SR + ph[tok][:, None]), axis=0)
        out = add_at(out, fade(note, fd), tok * (n - fd))
    table = {"frequency_hz": [f.tolist()] * x.shape[0], "amplitude": a.tolist(), "phase": ph.tolist(),
             "dimensions": dims.tolist()}
    return out, out, table


def read_trace(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])

    def tensor(name):
        e = header[name]
        b, end = e["data_offsets"]
        return np.frombuffer(data[8 + n + b:8 + n + end], dtype="<f4").reshape(e["shape"])

    blocks = sorted(int(k.split(".")[1]) for k in header if k.endswith(".hook_resid_post"))
    return np.stack([tensor("hook_embed")] + [tensor("blocks.%d.hook_resid_post" % b) for b in blocks])


def main():
    if sys.argv[1] == "--trace":
        style, path, seed, out = sys.argv[2:6]
        h = read_trace(path)
    else:
        style, path, s, t, w, seed, out = sys.argv[1:8]
        h = np.fromfile(path, dtype="<f4").reshape(int(s), int(t), int(w))
    if style == "thinking":
        left, right, table = thinking(h)
    elif style == "operatic":
        left, right, table = operatic(h, int(seed))
    else:
        left, right, table = sines(h)
    peak = max(np.abs(left).max(), np.abs(right).max())
    stereo = np.stack([left, right], axis=1) * (0.5 / peak)
    stereo.astype("<f8").tofile(out)
    json.dump(table, sys.stdout)


if __name__ == "__main__":
    main()
