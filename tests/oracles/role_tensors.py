#!/usr/bin/python3
"""Independent oracle for sonify's tensor-role mapping.

Reads a Hugging Face model directory with its own minimal safetensors parser and numpy,
maps tensor names to roles the way Hugging Face's modeling code uses them (written from
the HF modeling files, not from sonify), and prints, for every (layer, role, part), the
logical [out, in] tensor's shape, sum, sum of squares and a few elements.

  role_tensors.py MODEL_DIR            -> JSON on stdout
  role_tensors.py --make-phi3 OUT_DIR  -> writes a small random Phi-3 checkpoint (F16,
                                          BF16 and F32 tensors mixed) for the test
"""
import json
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = data[base + b: base + end]
        dt = e["dtype"]
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif dt == "I64":
            a = np.frombuffer(raw, dtype="<i8").copy()
        elif dt == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            a = u.view(np.float32).astype(np.float64)
        else:
            raise SystemExit("unsupported dtype " + dt)
        out[name] = a.reshape(e["shape"])
    return out


def roles(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    t = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    mt = cfg["model_type"]
    r = {}
    if mt == "gpt2":
        p = "transformer." if "transformer.wte.weight" in t else ""
        d = cfg["n_embd"]
        r[(-1, "embed", "weight")] = t[p + "wte.weight"]
        r[(-1, "pos_embed", "weight")] = t[p + "wpe.weight"]
        r[(-1, "final_norm", "weight")] = t[p + "ln_f.weight"]
        r[(-1, "final_norm", "bias")] = t[p + "ln_f.bias"]
        r[(-1, "lm_head", "weight")] = t.get("lm_head.weight", t[p + "wte.weight"])
        for i in range(cfg["n_layer"]):
            h = "%sh.%d." % (p, i)
            w = t[h + "attn.c_attn.weight"].T  # Conv1D [in, out] -> [out, in]
            b = t[h + "attn.c_attn.bias"]
            for k, name in enumerate(["q", "k", "v"]):
                r[(i, name, "weight")] = w[k * d:(k + 1) * d]
                r[(i, name, "bias")] = b[k * d:(k + 1) * d]
            for hf, role in [("attn.c_proj", "o"), ("mlp.c_fc", "up"), ("mlp.c_proj", "down")]:
                r[(i, role, "weight")] = t[h + hf + ".weight"].T
                r[(i, role, "bias")] = t[h + hf + ".bias"]
            for hf, role in [("ln_1", "attn_norm"), ("ln_2", "mlp_norm")]:
                r[(i, role, "weight")] = t[h + hf + ".weight"]
                r[(i, role, "bias")] = t[h + hf + ".bias"]
        return r
    gemma = mt.startswith("gemma3")
    gain = 1.0 if gemma else 0.0
    embed = t.get("model.embed_tokens.weight", t.get("lm_head.weight"))
    r[(-1, "embed", "weight")] = embed
    r[(-1, "lm_head", "weight")] = t.get("lm_head.weight", embed)
    r[(-1, "final_norm", "weight")] = t["model.norm.weight"] + gain
    heads, hd = cfg["num_attention_heads"], cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    kv = cfg.get("num_key_value_heads", heads)
    for i in range(cfg["num_hidden_layers"]):
        h = "model.layers.%d." % i
        if mt == "phi3":
            qkv = t[h + "self_attn.qkv_proj.weight"]
            r[(i, "q", "weight")] = qkv[:heads * hd]
            r[(i, "k", "weight")] = qkv[heads * hd:(heads + kv) * hd]
            r[(i, "v", "weight")] = qkv[(heads + kv) * hd:]
            gu = t[h + "mlp.gate_up_proj.weight"]
            inter = cfg["intermediate_size"]
            r[(i, "gate", "weight")] = gu[:inter]
            r[(i, "up", "weight")] = gu[inter:]
        else:
            for n in "qkv":
                r[(i, n, "weight")] = t[h + "self_attn.%s_proj.weight" % n]
            for n in ["gate", "up"]:
                r[(i, n, "weight")] = t[h + "mlp.%s_proj.weight" % n]
        r[(i, "o", "weight")] = t[h + "self_attn.o_proj.weight"]
        r[(i, "down", "weight")] = t[h + "mlp.down_proj.weight"]
        r[(i, "attn_norm", "weight")] = t[h + "input_layernorm.weight"] + gain
        if gemma:
            r[(i, "post_attn_norm", "weight")] = t[h + "post_attention_layernorm.weight"] + gain
            r[(i, "mlp_norm", "weight")] = t[h + "pre_feedforward_layernorm.weight"] + gain
            r[(i, "post_mlp_norm", "weight")] = t[h + "post_feedforward_layernorm.weight"] + gain
            r[(i, "q_norm", "weight")] = t[h + "self_attn.q_norm.weight"] + gain
            r[(i, "k_norm", "weight")] = t[h + "self_attn.k_norm.weight"] + gain
        else:
            r[(i, "mlp_norm", "weight")] = t[h + "post_attention_layernorm.weight"]
    return r


def summary(model_dir):
    out = []
    for (layer, role, part), a in sorted(roles(model_dir).items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        flat = np.ascontiguousarray(a).reshape(-1)
        picks = sorted({0, 1, flat.size // 3, flat.size // 2, flat.size - 1})
        out.append({"layer": layer, "role": role, "part": part, "shape": list(a.shape),
                    "sum": float(flat.sum()), "sumsq": float((flat * flat).sum()),
                    "picks": [[int(k), float(flat[k])] for k in picks]})
    return out


def make_phi3(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    cfg = {"model_type": "phi3", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
           "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
           "tie_word_embeddings": False, "sliding_window": 64}
    json.dump(cfg, open(os.path.join(out_dir, "config.json"), "w"), indent=1)
    rng = np.random.RandomState(7)
    hd = 8
    tensors = {"model.embed_tokens.weight": ("F32", rng.randn(100, 32)),
               "model.norm.weight": ("F32", 1 + 0.1 * rng.randn(32)),
               "lm_head.weight": ("BF16", rng.randn(100, 32))}
    for i in range(2):
        h = "model.layers.%d." % i
        tensors[h + "self_attn.qkv_proj.weight"] = ("F16", rng.randn((4 + 2 * 2) * hd, 32))
        tensors[h + "self_attn.o_proj.weight"] = ("BF16", rng.randn(32, 4 * hd))
        tensors[h + "mlp.gate_up_proj.weight"] = ("F16", rng.randn(2 * 48, 32))
        tensors[h + "mlp.down_proj.weight"] = ("F32", rng.randn(32, 48))
        tensors[h + "input_layernorm.weight"] = ("F32", 1 + 0.1 * rng.randn(32))
        tensors[h + "post_attention_layernorm.weight"] = ("F32", 1 + 0.1 * rng.randn(32))
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        dt, a = tensors[name]
        if dt == "F32":
            raw = a.astype("<f4").tobytes()
        elif dt == "F16":
            raw = a.astype("<f2").tobytes()
        else:
            raw = (a.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(out_dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--make-phi3":
        make_phi3(sys.argv[2])
    elif len(sys.argv) == 2:
        json.dump(summary(sys.argv[1]), sys.stdout)
    else:
        raise SystemExit(__doc__)
