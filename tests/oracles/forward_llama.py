#!/usr/bin/python3
"""Independent float64 numpy forward pass for Llama-style and Phi-3 checkpoints.

Written from Hugging Face's modeling_llama.py / modeling_phi3.py semantics, not from
sonify: RMSNorm, RoPE in rotate_half layout, grouped KV heads, a causal mask with an
optional sliding window (query - key < window), SiLU-gated MLP (Phi-3: gate_up_proj
holds gate then up; qkv_proj holds q, k, v). Reads the safetensors file with
role_tensors.py's own parser.

  forward_llama.py MODEL_DIR ID,ID,...  -> JSON {"logits": [[...] per position]} on stdout
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from role_tensors import read_safetensors  # noqa: E402


def rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x, pos, theta):
    hd = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = pos[:, None] * inv[None, :]
    cos = np.concatenate([np.cos(ang), np.cos(ang)], -1)
    sin = np.concatenate([np.sin(ang), np.sin(ang)], -1)
    rot = np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
    return x * cos + rot * sin


def forward(model_dir, ids):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    t = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    d, h, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    hd, inter = d // h, cfg["intermediate_size"]
    eps, theta = cfg.get("rms_norm_eps", 1e-6), cfg.get("rope_theta", 10000.0)
    window = cfg.get("sliding_window") or 0
    n = len(ids)
    pos = np.arange(n, dtype=np.float64)
    x = t["model.embed_tokens.weight"][ids]
    allowed = pos[None, :] <= pos[:, None]
    if window:
        allowed &= (pos[:, None] - pos[None, :]) < window
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        a = rms(x, t[p + "input_layernorm.weight"], eps)
        if p + "self_attn.qkv_proj.weight" in t:
            qkv = a @ t[p + "self_attn.qkv_proj.weight"].T
            q, k, v = qkv[:, :h * hd], qkv[:, h * hd:(h + kv) * hd], qkv[:, (h + kv) * hd:]
        else:
            q = a @ t[p + "self_attn.q_proj.weight"].T
            k = a @ t[p + "self_attn.k_proj.weight"].T
            v = a @ t[p + "self_attn.v_proj.weight"].T
        q = rope(q.reshape(n, h, hd).transpose(1, 0, 2), pos, theta)
        k = rope(k.reshape(n, kv, hd).transpose(1, 0, 2), pos, theta)
        v = v.reshape(n, kv, hd).transpose(1, 0, 2)
        k = np.repeat(k, h // kv, axis=0)
        v = np.repeat(v, h // kv, axis=0)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        s = np.where(allowed[None], s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(n, h * hd)
        x = x + o @ t[p + "self_attn.o_proj.weight"].T
        m = rms(x, t[p + "post_attention_layernorm.weight"], eps)
        if p + "mlp.gate_up_proj.weight" in t:
            gu = m @ t[p + "mlp.gate_up_proj.weight"].T
            g, u = gu[:, :inter], gu[:, inter:]
        else:
            g, u = m @ t[p + "mlp.gate_proj.weight"].T, m @ t[p + "mlp.up_proj.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ t[p + "mlp.down_proj.weight"].T
    x = rms(x, t["model.norm.weight"], eps)
    head = t.get("lm_head.weight", t["model.embed_tokens.weight"])
    return x @ head.T


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    logits = forward(sys.argv[1], [int(s) for s in sys.argv[2].split(",")])
    json.dump({"logits": logits.tolist()}, sys.stdout)
