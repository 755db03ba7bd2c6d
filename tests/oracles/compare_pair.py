#!/usr/bin/python3
"""Independent oracle for `sonify compare`.

  compare_pair.py make BASE_DIR OUT_DIR edit        -> a copy of BASE_DIR whose layer-1
      q_proj gets a known rank-3 change and whose layer-1 down_proj gets a full-rank one
  compare_pair.py make BASE_DIR OUT_DIR abliterate  -> a copy whose o_proj and down_proj in
      every layer are orthogonalised against one unit direction r of the residual stream
      (W <- W - r r^T W, as refusal-direction abliteration does)
  compare_pair.py make BASE_DIR OUT_DIR abliterate COMPARE_JSON -> the same against the
      direction `sonify compare --direction` fitted (its "direction"."vector")
  compare_pair.py expect A_DIR B_DIR               -> JSON: per stored tensor that differs,
      relative change ||B-A||_F/||A||_F, sigma_1 of B-A and its stable rank, in float64

Reads and writes safetensors with its own few lines (F32 only, which is what the
Llama fixture stores); numpy for the linear algebra, not sonify's code.
"""
import json
import os
import shutil
import struct
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise SystemExit("compare_pair.py reads F32 tensors only, not " + e["dtype"])
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + end], dtype="<f4").reshape(e["shape"]).copy()
    return out, header.get("__metadata__")


def write(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def make(base, out, kind, direction_json=None):
    # Plain copies, writable: the fixtures are read-only and the copy must not be.
    shutil.copytree(base, out, copy_function=shutil.copyfile)
    os.chmod(out, 0o755)
    t, meta = read(os.path.join(base, "model.safetensors"))
    rng = np.random.default_rng(20261130)
    if kind == "edit":
        q = "model.layers.1.self_attn.q_proj.weight"
        u = rng.standard_normal((t[q].shape[0], 3))
        v = rng.standard_normal((3, t[q].shape[1]))
        t[q] = (t[q] + 0.02 * (u @ v) / np.sqrt(t[q].shape[1])).astype(np.float32)
        d = "model.layers.1.mlp.down_proj.weight"
        t[d] = (t[d] + 0.05 * np.std(t[d]) * rng.standard_normal(t[d].shape)).astype(np.float32)
    elif kind == "abliterate":
        hidden = t["model.norm.weight"].shape[0]
        if direction_json:
            r = np.array(json.load(open(direction_json))["direction"]["vector"], dtype=np.float64)
        else:
            r = rng.standard_normal(hidden)
        r /= np.linalg.norm(r)
        for name in list(t):
            if name.endswith("self_attn.o_proj.weight") or name.endswith("mlp.down_proj.weight"):
                w = t[name].astype(np.float64)
                t[name] = (w - np.outer(r, r @ w)).astype(np.float32)
    else:
        raise SystemExit("kind must be edit or abliterate")
    write(os.path.join(out, "model.safetensors"), t, meta)


def expect(a_dir, b_dir):
    a, _ = read(os.path.join(a_dir, "model.safetensors"))
    b, _ = read(os.path.join(b_dir, "model.safetensors"))
    out = {}
    for name in sorted(a):
        wa, wb = a[name].astype(np.float64), b[name].astype(np.float64)
        if np.array_equal(wa, wb):
            continue
        d = wb - wa
        e = {"relative_change": float(np.linalg.norm(d) / np.linalg.norm(wa)),
             "changed_entries": int(np.count_nonzero(a[name] != b[name]))}
        if d.ndim == 2:
            s = np.linalg.svd(d, compute_uv=False)
            e["delta_sigma1"] = float(s[0])
            e["delta_stable_rank"] = float(np.sum(d * d) / s[0] ** 2)
        out[name] = e
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "make":
        make(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "expect":
        expect(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
