#!/usr/bin/python3
"""Independent float64 numpy forward of a model `sonify train` wrote (GPT-2 or Llama,
read from config.json + model.safetensors exactly as Hugging Face lays them out), compared
with the logits the trainer computed in memory before saving (--save-check FILE).

Usage: train_check.py MODEL_DIR CHECK.safetensors
Prints: max_abs_diff=<float> positions=<T> vocab=<V>
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from role_tensors import read_safetensors  # noqa: E402


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + eps) * w


def attention(q, k, v):
    # q, k, v: [H, T, hd]
    T = q.shape[1]
    s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[2])
    s = s + np.triu(np.full((T, T), -np.inf), 1)
    s = np.exp(s - s.max(-1, keepdims=True))
    p = s / s.sum(-1, keepdims=True)
    return p @ v


def gpt2(cfg, W, ids):
    D, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg["layer_norm_epsilon"]
    g = lambda n: W["transformer." + n].astype(np.float64)
    T = len(ids)
    x = g("wte.weight")[ids] + g("wpe.weight")[:T]
    for l in range(L):
        p = f"h.{l}."
        h = layer_norm(x, g(p + "ln_1.weight"), g(p + "ln_1.bias"), eps)
        qkv = h @ g(p + "attn.c_attn.weight") + g(p + "attn.c_attn.bias")
        q, k, v = (qkv[:, i * D:(i + 1) * D].reshape(T, H, D // H).transpose(1, 0, 2) for i in range(3))
        y = attention(q, k, v).transpose(1, 0, 2).reshape(T, D)
        x = x + y @ g(p + "attn.c_proj.weight") + g(p + "attn.c_proj.bias")
        h = layer_norm(x, g(p + "ln_2.weight"), g(p + "ln_2.bias"), eps)
        a = h @ g(p + "mlp.c_fc.weight") + g(p + "mlp.c_fc.bias")
        a = 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a ** 3)))
        x = x + a @ g(p + "mlp.c_proj.weight") + g(p + "mlp.c_proj.bias")
    x = layer_norm(x, g("ln_f.weight"), g("ln_f.bias"), eps)
    return x @ g("wte.weight").T


def llama(cfg, W, ids):
    D, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    hd = D // H
    g = lambda n: W["model." + n].astype(np.float64)
    T = len(ids)
    inv = theta ** (-np.arange(0, hd, 2) / hd)
    f = np.outer(np.arange(T), inv)
    emb = np.concatenate([f, f], -1)
    cos, sin = np.cos(emb), np.sin(emb)

    def rope(t):
        x1, x2 = t[..., :hd // 2], t[..., hd // 2:]
        return t * cos + np.concatenate([-x2, x1], -1) * sin

    x = g("embed_tokens.weight")[ids]
    for l in range(L):
        p = f"layers.{l}."
        h = rms_norm(x, g(p + "input_layernorm.weight"), eps)
        heads = lambda w: (h @ g(p + w).T).reshape(T, H, hd).transpose(1, 0, 2)
        q, k, v = rope(heads("self_attn.q_proj.weight")), rope(heads("self_attn.k_proj.weight")), heads("self_attn.v_proj.weight")
        y = attention(q, k, v).transpose(1, 0, 2).reshape(T, D)
        x = x + y @ g(p + "self_attn.o_proj.weight").T
        h = rms_norm(x, g(p + "post_attention_layernorm.weight"), eps)
        gate = h @ g(p + "mlp.gate_proj.weight").T
        x = x + ((gate / (1 + np.exp(-gate))) * (h @ g(p + "mlp.up_proj.weight").T)) @ g(p + "mlp.down_proj.weight").T
    return rms_norm(x, g("norm.weight"), eps) @ g("embed_tokens.weight").T


def main():
    model_dir, check_path = sys.argv[1], sys.argv[2]
    cfg = json.load(open(model_dir + "/config.json"))
    W = read_safetensors(model_dir + "/model.safetensors")
    check = read_safetensors(check_path)
    ids = check["check_ids"].astype(np.int64)
    ref = check["logits"].astype(np.float64)
    forward = {"gpt2": gpt2, "llama": llama}[cfg["model_type"]]
    logits = forward(cfg, W, ids)
    if logits.shape != ref.shape:
        print(f"shape mismatch {logits.shape} vs {ref.shape}")
        sys.exit(1)
    print(f"max_abs_diff={np.abs(logits - ref).max():.3e} positions={len(ids)} vocab={ref.shape[1]}")


if __name__ == "__main__":
    main()
