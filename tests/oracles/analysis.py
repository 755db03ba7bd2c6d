#!/usr/bin/python3
"""Independent oracle for sonify's analysis core (tests/test_analysis_oracle.cpp).

Computes, with numpy, scipy and scikit-learn on float64 copies of the stored weights,
the statistics `sonify analyze` writes, and prints them as JSON. Tensors are cut into
(layer, role) by role_tensors.py (the oracle of the role mapping).

  analysis.py MODEL_DIR [BINS]   -> {"matrices": [...], "vectors": [...], "transitions": [...],
                                     "tension": [...], "tonality": {...}}
  analysis.py --pca FILE.json    -> sklearn PCA of {"data": [[...]], "k": K} plus a transform
"""
import json
import math
import os
import sys

import numpy as np
import scipy.stats
from sklearn.decomposition import PCA

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import role_tensors  # noqa: E402


def moments(x):
    def finite(v):
        v = float(v)
        return 0.0 if math.isnan(v) else v
    return {"mean": float(np.mean(x)), "std": float(np.std(x)),
            "skewness": finite(scipy.stats.skew(x)), "kurtosis": finite(scipy.stats.kurtosis(x)),
            "min": float(np.min(x)), "max": float(np.max(x))}


def power_law(eig, min_tail=5):
    """Continuous power-law MLE with the KS-minimising xmin (Clauset, Shalizi, Newman 2009)."""
    x = np.sort(eig[eig > 0])
    n = len(x)
    best = {"alpha": 0.0, "alpha_xmin": 0.0, "alpha_tail": 0, "alpha_ks": 0.0}
    best_d = math.inf
    for j in range(0, n - min_tail + 1):
        if j > 0 and x[j] == x[j - 1]:
            continue
        tail = x[j:]
        s = np.sum(np.log(tail / x[j]))
        if not s > 0:
            continue
        a = 1 + len(tail) / s
        cdf = 1 - (tail / x[j]) ** (1 - a)
        k = np.arange(len(tail))
        d = max(np.max(np.abs(cdf - k / len(tail))), np.max(np.abs(cdf - (k + 1) / len(tail))))
        if d < best_d:
            best_d = d
            best = {"alpha": float(a), "alpha_xmin": float(x[j]), "alpha_tail": int(len(tail)), "alpha_ks": float(d)}
    return best


def hill(x):
    dev = np.sort(np.abs(x - np.mean(x)).astype(np.float32).astype(np.float64))[::-1]
    k = max(1, int(math.floor(math.sqrt(len(x)))))
    top = dev[:k + 1]
    if len(top) < 2 or not top[-1] > 0:
        return 2.0
    s = np.sum(np.log(top[:-1] / top[-1]))
    return 2.0 if not s > 0 else float(min(2.0, (len(top) - 1) / s))


def matrix(w, bins):
    x = w.ravel()
    sv = np.linalg.svd(w, compute_uv=False)
    total = sv.sum()
    p = sv / total if total > 0 else np.zeros_like(sv)
    entropy = float(-np.sum(p[p > 0] * np.log(p[p > 0])))
    frob2 = float(np.sum(x * x))
    n = len(x)
    m = moments(x)
    p02, p98 = np.percentile(x, [2, 98])
    lo, hi = (p02, p98) if p02 != p98 else (p02 - 0.5, p98 + 0.5)
    g1, g2 = m["skewness"], m["kurtosis"]
    bc = (g1 * g1 + 1) / (g2 + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))) if n >= 4 else 0.0
    spectrum = {"singular_values": sv.tolist(), "sigma_max": float(sv[0]),
                "stable_rank": frob2 / sv[0] ** 2 if sv[0] > 0 else 0.0,
                "spectral_entropy": entropy, "effective_rank": math.exp(entropy) if total > 0 else 0.0,
                "condition_number": float(sv[0] / sv[-1]) if sv[-1] > np.finfo(float).eps * max(w.shape) * sv[0] else 0.0}
    spectrum.update(power_law(sv.astype(np.float64) ** 2))
    return {"rows": w.shape[0], "cols": w.shape[1], "frobenius": math.sqrt(frob2), "moments": m,
            "p02": float(p02), "p98": float(p98),
            "histogram": np.histogram(x, bins=bins, range=(lo, hi))[0].tolist(),
            "bimodality": bc, "heavy_tail_index": hill(x),
            "row_norms": np.linalg.norm(w, axis=1).tolist(), "col_norms": np.linalg.norm(w, axis=0).tolist(),
            "spectrum": spectrum}


MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def key(energy, shape):
    chroma = np.zeros(12)
    np.add.at(chroma, np.arange(len(energy)) % 12, energy)
    chroma /= np.maximum(np.bincount(np.arange(len(energy)) % 12, minlength=12), 1)  # mean per class
    chroma /= chroma.sum()
    best = (-2.0, 0, 0)
    for family, prof in enumerate([MAJOR, MINOR]):
        for root in range(12):
            c = float(np.corrcoef(chroma, np.roll(prof, root))[0, 1]) if chroma.std() > 0 else 0.0
            if c > best[0]:
                best = (c, root, family)
    g1, g2 = float(scipy.stats.skew(shape)), float(scipy.stats.kurtosis(shape))
    if best[2] == 0:
        mode = "lydian" if g1 > 0.1 else "mixolydian" if g1 < -0.1 else "major"
    else:
        mode = "dorian" if g1 > 0.1 else "phrygian" if g1 < -0.1 else "harmonic_minor" if g2 > 3 else "natural_minor"
    return {"root": best[1], "root_name": NAMES[best[1]], "mode": mode, "chroma": chroma.tolist(),
            "key_correlation": best[0], "shape_skewness": g1, "shape_kurtosis": g2}


def tonality(gains):
    g = np.array(gains)
    layers, width = g.shape
    k = min(3, layers, width)
    pca = PCA(n_components=k, svd_solver="full").fit(g)
    scores = pca.transform(g)
    comps = pca.components_.copy()
    trend = (np.arange(layers) - (layers - 1) / 2.0) @ scores
    comps[trend < 0] *= -1
    second = k >= 2 and pca.explained_variance_[1] > 1e-12 * pca.explained_variance_[0]
    out = key(((g - g.mean(axis=0)) ** 2).sum(axis=0), comps[1 if second else 0])
    out["source"] = "pca"
    out["explained_variance_ratio"] = pca.explained_variance_ratio_.tolist()
    return out


def analyse(model_dir, bins):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    gemma = cfg["model_type"].startswith("gemma3")
    names = set(role_tensors.read_safetensors(os.path.join(model_dir, "model.safetensors")))
    has_embed = any(n.endswith("embed_tokens.weight") or n.endswith("wte.weight") for n in names)
    separate_head = "lm_head.weight" in names and has_embed
    r = role_tensors.roles(model_dir)
    out = {"matrices": [], "vectors": [], "transitions": []}
    by_role = {}
    for (layer, role, part), t in sorted(r.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        if t.ndim == 2 and part == "weight":
            if role == "lm_head" and not separate_head:
                continue
            m = matrix(t, bins)
            m.update({"layer": layer, "role": role})
            out["matrices"].append(m)
            if layer >= 0:
                by_role.setdefault(role, []).append((layer, t, m))
        else:
            stored = t - 1.0 if gemma and "norm" in role and part == "weight" else t
            out["vectors"].append({"layer": layer, "role": role, "part": part, "values": stored.tolist(),
                                   "moments": moments(stored), "l2": float(np.linalg.norm(stored))})
    for role, items in by_role.items():
        items.sort(key=lambda e: e[0])
        for (l0, t0, m0), (l1, t1, m1) in zip(items, items[1:]):
            a, b = np.array(m0["spectrum"]["singular_values"]), np.array(m1["spectrum"]["singular_values"])
            out["transitions"].append({"role": role, "from_layer": l0, "to_layer": l1,
                                       "wasserstein1": float(scipy.stats.wasserstein_distance(t0.ravel(), t1.ravel())),
                                       "spectral_delta": float(np.linalg.norm(b - a) / np.linalg.norm(a))})
    n_layers = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    frob = {(m["layer"], m["role"]): m["frobenius"] for m in out["matrices"]}
    tension = []
    for l in range(n_layers):
        att = [frob[(l, x)] for x in "qkvo" if (l, x) in frob]
        mlp = [frob[(l, x)] for x in ("gate", "up", "down") if (l, x) in frob]
        tension.append(float(np.mean(att) / (np.mean(mlp) + 1e-9)))
    out["tension"] = tension
    gains = [r[(l, "attn_norm", "weight")] for l in range(n_layers)]
    out["tonality"] = tonality(gains)
    return out


def pca_mode(path):
    spec = json.load(open(path))
    x = np.array(spec["data"])
    pca = PCA(n_components=spec["k"], svd_solver="full").fit(x)
    return {"mean": pca.mean_.tolist(), "components": pca.components_.tolist(),
            "explained_variance": pca.explained_variance_.tolist(),
            "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
            "singular_values": pca.singular_values_.tolist(), "transform": pca.transform(x).tolist()}


if __name__ == "__main__":
    if sys.argv[1] == "--pca":
        print(json.dumps(pca_mode(sys.argv[2])))
    else:
        print(json.dumps(analyse(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32)))
