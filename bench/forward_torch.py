#!/usr/bin/python3
"""The PyTorch eager peer of `sonify trace` for bench/forward.sh: the same Gemma 3 forward
pass (the math of src/runtime/runtime_torch.cpp, f32 computation on BF16 weights) written
in plain torch ops, reading the same safetensors file, capturing what `trace --logits all`
captures and writing it as a safetensors file under the same names.

Usage: forward_torch.py MODEL_DIR IDS OUT.safetensors [THREADS]   (IDS: comma-separated token ids)
Needs Debian's python3-torch; it is for the bench only, never the product or CI.
Gemma 3 text models only (the bench's Gemma-3-270M shape).
"""
import json
import math
import struct
import sys

import numpy as np
import torch


def read_safetensors(path):
    """Every tensor as f32 torch tensors (BF16 widened by a 16-bit shift, as sonify does)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = np.frombuffer(data, dtype=np.uint8, count=end - begin, offset=begin)
        if info["dtype"] == "BF16":
            values = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F32":
            values = raw.view(np.float32).copy()
        else:
            raise SystemExit(f"{name}: dtype {info['dtype']} not handled by this bench script")
        out[name] = torch.from_numpy(values.reshape(info["shape"]))
    return out


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        a = t.contiguous().numpy()
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for a in blobs:
            f.write(a.tobytes())


def rms_norm(x, gain, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gain


def rope(x, pos, theta):
    hd = x.shape[-1]
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    angles = pos.to(torch.float64)[:, None] * inv_freq[None, :]
    cos = torch.cat([angles.cos(), angles.cos()], -1).float()
    sin = torch.cat([angles.sin(), angles.sin()], -1).float()
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def main():
    model, ids, out_path = sys.argv[1], [int(i) for i in sys.argv[2].split(",")], sys.argv[3]
    cfg = json.load(open(model + "/config.json"))
    assert cfg["model_type"] in ("gemma3_text", "gemma3"), "this bench script runs Gemma 3 only"
    if len(sys.argv) > 4:
        torch.set_num_threads(int(sys.argv[4]))
    torch.set_grad_enabled(False)
    w = read_safetensors(model + "/model.safetensors")
    D, H, KV, HD = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps, L = cfg["rms_norm_eps"], cfg["num_hidden_layers"]
    window = cfg["sliding_window"]
    scale = 1.0 / math.sqrt(cfg["query_pre_attn_scalar"])
    T = len(ids)
    pos = torch.arange(T)

    def gain(name):
        return 1.0 + w[name]

    capture = {"token_ids": torch.tensor(ids, dtype=torch.int64)}
    embed = w["model.embed_tokens.weight"]
    hidden = embed[torch.tensor(ids)] * math.sqrt(D)
    capture["hook_embed"] = hidden
    blocked_causal = pos[None, :] > pos[:, None]
    blocked_sliding = blocked_causal | (pos[:, None] - pos[None, :] >= window)
    for l in range(L):
        p = f"model.layers.{l}."
        sliding = cfg["layer_types"][l] == "sliding_attention"
        x = rms_norm(hidden, gain(p + "input_layernorm.weight"), eps)
        q = (x @ w[p + "self_attn.q_proj.weight"].T).view(T, H, HD).transpose(0, 1)
        k = (x @ w[p + "self_attn.k_proj.weight"].T).view(T, KV, HD).transpose(0, 1)
        v = (x @ w[p + "self_attn.v_proj.weight"].T).view(T, KV, HD).transpose(0, 1)
        q = rms_norm(q, gain(p + "self_attn.q_norm.weight"), eps)
        k = rms_norm(k, gain(p + "self_attn.k_norm.weight"), eps)
        theta = cfg["rope_local_base_freq"] if sliding else cfg["rope_theta"]
        q, k = rope(q, pos, theta), rope(k, pos, theta)
        k = k.repeat_interleave(H // KV, 0)
        v = v.repeat_interleave(H // KV, 0)
        scores = (q * scale) @ k.transpose(1, 2)
        scores = scores.masked_fill(blocked_sliding if sliding else blocked_causal, float("-inf"))
        probs = torch.softmax(scores, -1)
        capture[f"blocks.{l}.attn.hook_pattern"] = probs
        attn = (probs @ v).transpose(0, 1).reshape(T, H * HD) @ w[p + "self_attn.o_proj.weight"].T
        hidden = hidden + rms_norm(attn, gain(p + "post_attention_layernorm.weight"), eps)
        x = rms_norm(hidden, gain(p + "pre_feedforward_layernorm.weight"), eps)
        post = torch.nn.functional.gelu(x @ w[p + "mlp.gate_proj.weight"].T, approximate="tanh") * (
            x @ w[p + "mlp.up_proj.weight"].T)
        capture[f"blocks.{l}.mlp.hook_post"] = post
        mlp = post @ w[p + "mlp.down_proj.weight"].T
        hidden = hidden + rms_norm(mlp, gain(p + "post_feedforward_layernorm.weight"), eps)
        capture[f"blocks.{l}.hook_resid_post"] = hidden
    head = w["lm_head.weight"] if "lm_head.weight" in w else embed
    capture["logits"] = rms_norm(hidden, gain("model.norm.weight"), eps) @ head.T
    write_safetensors(out_path, capture)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
