#!/usr/bin/python3
"""Oracle for the WeightWatcher-compatible metrics of `sonify analyze` (doc/weightwatcher.md).

Follows WeightWatcher's published code (github CalculatedContent/WeightWatcher, weightwatcher.py
apply_esd / apply_powerlaw / apply_norm_metrics / mp_fit, WW_powerlaw.WWFit, RMT_Util
matrix_entropy / fit_density_with_range / resid_mp) with its default parameters, using the
same library calls it makes (numpy SVD, sklearn KernelDensity, scipy.optimize.brute with its
default fmin finish). WeightWatcher itself is not installed here; this file restates it.

  ww_metrics.py MODEL_DIR           -> {"matrices": [{"layer", "role", "weightwatcher": {...}}]}
  ww_metrics.py --evals FILE.json   -> metrics of {"evals": [...], "N": n, "M": m}
  ww_metrics.py --synthetic OUT ALPHA N M SEED
        writes OUT (float32 N×M, row-major) with eigenvalues of WᵀW drawn from a Pareto law of
        density exponent ALPHA, prints {"alpha_true", "weightwatcher": {...}}
"""
import json
import math
import os
import sys

import numpy as np
from scipy import optimize
from sklearn.neighbors import KernelDensity

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

EVALS_THRESH = 1e-5
EPSILON = 1e-10
OVER_TRAINED_THRESH, UNDER_TRAINED_THRESH = 2.0, 6.0


def ww_fit(data):
    """WW_powerlaw.WWFit(data) with xmin=None, xmax=None: every value but the largest is a
    candidate xmin; one-sided KS distance against the empirical CDF k/n."""
    data = np.asarray(np.sort(data), dtype=np.float64)
    n_all = len(data)
    log_data = np.log(data, dtype=np.float64)
    alphas = np.zeros(n_all - 1)
    ds = np.ones(n_all - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, xmin in enumerate(data[:-1]):
            n = float(n_all - i)
            alpha = 1 + n / (np.sum(log_data[i:]) - n * log_data[i])
            alphas[i] = alpha
            if alpha > 1:
                ds[i] = np.max(np.abs(1 - (data[i:] / xmin) ** (-alpha + 1) - np.arange(n) / n))
    sigmas = (alphas - 1) / np.sqrt(n_all - np.arange(n_all - 1))
    i = int(np.argmin(ds))
    return {"alpha": alphas[i], "xmin": data[i], "xmax": data[-1], "D": ds[i], "sigma": sigmas[i]}


def resid_mp(p, evals, Q, bw, allresid=True):
    sigma = p
    kde = KernelDensity(kernel="linear", bandwidth=bw).fit(evals.reshape(-1, 1))
    xde = np.linspace(0, np.max(evals) + 0.5, 1000)
    yde = np.exp(kde.score_samples(xde[:, np.newaxis]))
    thresh = 0.01
    bad_ids = np.where(yde < thresh)[0]
    good_ids = np.where(yde > thresh)[0]
    xde, yde = xde[good_ids], yde[good_ids]
    with np.errstate(divide="ignore", invalid="ignore"):
        if Q == 1:
            ymp = np.nan_to_num((1 / (np.pi * sigma * sigma)) * np.sqrt(4 - xde ** 2))
            resid = ymp - yde
        else:
            y = 1 / Q
            b = np.power(sigma * (1 + np.sqrt(1 / Q)), 2)
            a = np.power(sigma * (1 - np.sqrt(1 / Q)), 2)
            ymp = np.nan_to_num((1 / (2 * np.pi * sigma * sigma * xde * y)) * np.sqrt((b - xde) * (xde - a)))
            peak = xde[np.where(yde == max(yde))][0]
            if (b < peak) | (b > max(xde)) | (a > peak):
                resid = np.zeros(len(yde)) + 1000
            else:
                resid = ymp - yde
    resid = np.concatenate((resid, np.zeros(len(bad_ids))))
    return resid if allresid else np.sum(resid ** 2)


def mp_fit(evals, N, M):
    Q = N / M
    wscale = np.sqrt(evals.shape[0]) / np.sqrt(np.sum(evals))
    to_plot = (wscale * wscale) * evals
    lambda_max = np.max(to_plot)
    scale = np.sqrt(np.max(to_plot) / np.square(1 + 1.0 / np.sqrt(Q)))
    sigma_range = (slice(0.05 * scale, 2.0 * scale, 0.01 * scale),)
    to_fit = np.sqrt(to_plot) if Q == 1 else to_plot
    out = optimize.brute(resid_mp, sigma_range, args=(to_fit, Q, 0.1, False), full_output=True)
    s1 = out[0][0]
    bulk_max = (s1 * (1 + 1 / np.sqrt(Q))) ** 2
    bulk_min = (s1 * (1 - 1 / np.sqrt(Q))) ** 2
    tw = 1 / np.sqrt(Q) * np.power(bulk_max, 2 / 3) * np.power(M, -2 / 3)
    bulk_max_tw = bulk_max + np.sqrt(tw)
    return {"num_spikes": int(np.sum(to_plot > bulk_max_tw)), "sigma_mp": float(s1),
            "mp_softrank": float(bulk_max / lambda_max), "bulk_min": float(bulk_min / (wscale * wscale)),
            "bulk_max": float(bulk_max / (wscale * wscale)), "W_scale": float(wscale)}


def metrics(evals, N, M):
    """evals: the M eigenvalues of WᵀW (N >= M)."""
    evals = np.sort(np.asarray(evals, dtype=np.float64))
    out = {"N": N, "M": M, "num_evals": len(evals), "lambda_max": float(np.max(evals))}
    nz = evals[evals > EVALS_THRESH]
    try:
        fit = ww_fit(nz)
        if not np.isfinite(fit["alpha"]):  # sonify reports an infinite alpha as a failed fit
            raise ValueError("alpha not finite")
        out.update({k: float(v) for k, v in fit.items()})
        out["num_pl_spikes"] = int(np.sum(evals >= fit["xmin"]))
        out["status"] = "success"
    except ValueError:
        out.update({"alpha": -1.0, "xmin": -1.0, "xmax": -1.0, "D": -1.0, "sigma": -1.0,
                    "num_pl_spikes": -1, "status": "failed"})
    alpha = out["alpha"]
    out["warning"] = "over-trained" if alpha < OVER_TRAINED_THRESH else \
        "under-trained" if alpha > UNDER_TRAINED_THRESH else ""
    norm = np.sum(evals)
    spectral = np.max(evals)
    out["log_norm"] = float(np.log10(norm))
    out["log_spectral_norm"] = float(np.log10(spectral))
    out["alpha_weighted"] = float(alpha * np.log10(spectral))
    out["log_alpha_norm"] = float(np.log10(np.sum([ev ** alpha for ev in evals])))
    out["stable_rank"] = float(norm / spectral)
    sv = np.sqrt(evals)
    rank = np.count_nonzero(sv > np.max(sv) * N * np.finfo(sv.dtype).eps)
    out["matrix_rank"] = int(rank)
    p = evals / np.sum(evals) + EPSILON
    out["matrix_entropy"] = float(-np.sum(p * np.log(p)) / np.log(rank + EPSILON))
    try:
        out.update(mp_fit(evals, N, M))
    except ValueError:  # WeightWatcher's apply_mp_fit catches it and writes -1
        out.update({k: -1 for k in ("num_spikes", "sigma_mp", "mp_softrank", "bulk_min", "bulk_max", "W_scale")})
    # JSON has no inf/nan; sonify writes -1 (WeightWatcher's failure marker) for them.
    return {k: (-1.0 if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


def matrix_metrics(w):
    w = np.asarray(w, dtype=np.float64)
    N, M = max(w.shape), min(w.shape)
    sv = np.linalg.svd(w, compute_uv=False)
    return metrics(sv * sv, N, M)


def model_mode(model_dir):
    import role_tensors
    names = set(role_tensors.read_safetensors(os.path.join(model_dir, "model.safetensors")))
    has_embed = any(n.endswith("embed_tokens.weight") or n.endswith("wte.weight") for n in names)
    separate_head = "lm_head.weight" in names and has_embed
    out = []
    for (layer, role, part), t in sorted(role_tensors.roles(model_dir).items()):
        if t.ndim == 2 and part == "weight" and not (role == "lm_head" and not separate_head):
            out.append({"layer": layer, "role": role, "weightwatcher": matrix_metrics(t)})
    return {"matrices": out}


def synthetic_mode(path, alpha, n, m, seed):
    """W = U diag(√λ) Vᵀ with λ iid Pareto of density ∝ λ^-alpha on [1, ∞) and Haar U, V."""
    rng = np.random.RandomState(seed)
    lam = (1 - rng.random_sample(m)) ** (-1 / (alpha - 1))
    u, _ = np.linalg.qr(rng.standard_normal((n, m)))
    v, _ = np.linalg.qr(rng.standard_normal((m, m)))
    w = ((u * np.sqrt(lam)) @ v.T).astype(np.float32)
    w.tofile(path)
    return {"alpha_true": alpha, "weightwatcher": matrix_metrics(w)}


if __name__ == "__main__":
    if sys.argv[1] == "--evals":
        spec = json.load(open(sys.argv[2]))
        print(json.dumps(metrics(spec["evals"], spec["N"], spec["M"])))
    elif sys.argv[1] == "--synthetic":
        print(json.dumps(synthetic_mode(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
                                        int(sys.argv[6]))))
    else:
        print(json.dumps(model_mode(sys.argv[1])))
