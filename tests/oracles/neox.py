#!/usr/bin/python3
"""GPT-NeoX (Pythia) oracle: writes a tiny random checkpoint in Hugging Face's layout and
runs a float64 numpy forward pass of the published architecture.

Written from transformers' modeling_gpt_neox.py and GPTNeoXConfig, not from sonify:
LayerNorm with biases; query_key_value viewed as [T, heads, 3·head_dim] (each head's q, k,
v rows together); rotary (rotate_half) on the first int(head_dim·rotary_pct) features of
q and k; attention scaled by 1/sqrt(head_dim) with a causal mask; the output projection
`dense`; the MLP dense_4h_to_h(gelu(dense_h_to_4h(x))) with the exact (erf) GELU; with
use_parallel_residual x + attn(ln1(x)) + mlp(ln2(x)), else x + attn(ln1(x)) then
+ mlp(ln2(·)); final_layer_norm; untied embed_out.

  neox.py write DIR PARALLEL(0|1) SEED   -> config.json + model.safetensors in DIR
  neox.py forward DIR ID,ID,...          -> JSON {"logits": [[...] per position]}
"""
import json
import os
import struct
import sys

import numpy as np
from scipy.special import erf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from role_tensors import read_safetensors  # noqa: E402

CONFIG = {"model_type": "gpt_neox", "architectures": ["GPTNeoXForCausalLM"], "hidden_size": 32,
          "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 64, "vocab_size": 50,
          "max_position_embeddings": 64, "rotary_pct": 0.5, "rotary_emb_base": 10000,
          "layer_norm_eps": 1e-5, "hidden_act": "gelu", "tie_word_embeddings": False,
          "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float32"}


def write_safetensors(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write(model_dir, parallel, seed):
    cfg = dict(CONFIG, use_parallel_residual=bool(parallel))
    rng = np.random.RandomState(seed)
    d, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]

    def w(*shape, scale=0.3):
        return rng.standard_normal(shape) * scale

    t = {"gpt_neox.embed_in.weight": w(v, d, scale=1.0), "embed_out.weight": w(v, d),
         "gpt_neox.final_layer_norm.weight": 1 + w(d, scale=0.1), "gpt_neox.final_layer_norm.bias": w(d, scale=0.1)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{l}."
        t.update({p + "input_layernorm.weight": 1 + w(d, scale=0.1), p + "input_layernorm.bias": w(d, scale=0.1),
                  p + "post_attention_layernorm.weight": 1 + w(d, scale=0.1),
                  p + "post_attention_layernorm.bias": w(d, scale=0.1),
                  p + "attention.query_key_value.weight": w(3 * d, d), p + "attention.query_key_value.bias": w(3 * d),
                  p + "attention.dense.weight": w(d, d), p + "attention.dense.bias": w(d, scale=0.1),
                  p + "mlp.dense_h_to_4h.weight": w(i, d), p + "mlp.dense_h_to_4h.bias": w(i, scale=0.1),
                  p + "mlp.dense_4h_to_h.weight": w(d, i), p + "mlp.dense_4h_to_h.bias": w(d, scale=0.1),
                  # buffers older checkpoints carry; a reader must skip them
                  p + "attention.rotary_emb.inv_freq": np.zeros(4)})
    os.makedirs(model_dir, exist_ok=True)
    json.dump(cfg, open(os.path.join(model_dir, "config.json"), "w"), indent=1)
    write_safetensors(os.path.join(model_dir, "model.safetensors"), t)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def rotary(x, pos, rot, base):
    inv = 1.0 / base ** (np.arange(0, rot, 2) / rot)
    ang = pos[:, None] * inv[None, :]
    cos = np.concatenate([np.cos(ang), np.cos(ang)], -1)[None]
    sin = np.concatenate([np.sin(ang), np.sin(ang)], -1)[None]
    xr, xp = x[..., :rot], x[..., rot:]
    half = rot // 2
    rotated = np.concatenate([-xr[..., half:], xr[..., :half]], -1)
    return np.concatenate([xr * cos + rotated * sin, xp], -1)


def forward(model_dir, ids):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    t = {k: v.astype(np.float64) for k, v in read_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    d, h = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = d // h
    rot = int(hd * cfg.get("rotary_pct", 0.25))
    eps = cfg.get("layer_norm_eps", 1e-5)
    ids = np.array(ids)
    n = len(ids)
    pos = np.arange(n, dtype=np.float64)
    x = t["gpt_neox.embed_in.weight"][ids]
    mask = np.triu(np.ones((n, n), dtype=bool), 1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{l}."
        a_in = layer_norm(x, t[p + "input_layernorm.weight"], t[p + "input_layernorm.bias"], eps)
        qkv = (a_in @ t[p + "attention.query_key_value.weight"].T + t[p + "attention.query_key_value.bias"])
        qkv = qkv.reshape(n, h, 3 * hd).transpose(1, 0, 2)  # [H, T, 3hd]
        q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        base = cfg.get("rope_theta", cfg.get("rotary_emb_base", 10000))
        q, k = rotary(q, pos, rot, base), rotary(k, pos, rot, base)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        s = np.where(mask[None], -np.inf, s)
        pr = np.exp(s - s.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        attn = (pr @ v).transpose(1, 0, 2).reshape(n, d)
        attn = attn @ t[p + "attention.dense.weight"].T + t[p + "attention.dense.bias"]

        def mlp(y):
            u = y @ t[p + "mlp.dense_h_to_4h.weight"].T + t[p + "mlp.dense_h_to_4h.bias"]
            u = 0.5 * u * (1 + erf(u / np.sqrt(2)))
            return u @ t[p + "mlp.dense_4h_to_h.weight"].T + t[p + "mlp.dense_4h_to_h.bias"]

        ln2 = (t[p + "post_attention_layernorm.weight"], t[p + "post_attention_layernorm.bias"])
        if cfg.get("use_parallel_residual", True):
            x = x + attn + mlp(layer_norm(x, *ln2, eps))
        else:
            x = x + attn
            x = x + mlp(layer_norm(x, *ln2, eps))
    x = layer_norm(x, t["gpt_neox.final_layer_norm.weight"], t["gpt_neox.final_layer_norm.bias"], eps)
    return {"logits": (x @ t["embed_out.weight"].T).tolist()}


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        print(json.dumps(forward(sys.argv[2], [int(s) for s in sys.argv[3].split(",")])))
