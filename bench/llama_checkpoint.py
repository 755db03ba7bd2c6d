#!/usr/bin/python3
"""Writes a Llama-3.2-1B- or Llama-3.1-8B-shaped checkpoint: sharded BF16 safetensors
(model-0000K-of-0000N.safetensors + model.safetensors.index.json) and config.json.

The weights are random but their spectra look trained rather than Marchenko-Pastur:
W = G · diag(d) · H with G Gaussian and the column scales d_j ∝ (j + 1)^-0.35 (a
power-law bulk, as in trained transformers), plus a few rank-one spikes. H is a fixed
random sign flip of the columns so the scales are not sorted by index. Seeded, so two
runs write the same bytes. The hidden `sonify synth-checkpoint` writes one unsharded
file of iid N(0, 0.02²) weights (a pure Marchenko-Pastur spectrum), hence this script.

Usage: bench/llama_checkpoint.py {1b|8b} OUT_DIR [--seed N]
"""
import json
import os
import struct
import sys

import numpy as np

SHAPES = {
    "1b": dict(hidden=2048, inter=8192, layers=16, heads=32, kv=8, vocab=128256, tied=True, shards=2,
               rope_theta=500000.0),
    "8b": dict(hidden=4096, inter=14336, layers=32, heads=32, kv=8, vocab=128256, tied=False, shards=4,
               rope_theta=500000.0),
}


def tensors(c):
    h, i, hd = c["hidden"], c["inter"], c["hidden"] // c["heads"]
    out = [("model.embed_tokens.weight", (c["vocab"], h))]
    for l in range(c["layers"]):
        p = f"model.layers.{l}."
        out += [(p + "input_layernorm.weight", (h,)),
                (p + "self_attn.q_proj.weight", (c["heads"] * hd, h)),
                (p + "self_attn.k_proj.weight", (c["kv"] * hd, h)),
                (p + "self_attn.v_proj.weight", (c["kv"] * hd, h)),
                (p + "self_attn.o_proj.weight", (h, c["heads"] * hd)),
                (p + "post_attention_layernorm.weight", (h,)),
                (p + "mlp.gate_proj.weight", (i, h)),
                (p + "mlp.up_proj.weight", (i, h)),
                (p + "mlp.down_proj.weight", (h, i))]
    out.append(("model.norm.weight", (h,)))
    if not c["tied"]:
        out.append(("lm_head.weight", (c["vocab"], h)))
    return out


def bf16(x):
    """Round-to-nearest-even float32 -> bfloat16 bits."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)


def write_tensor(f, rng, shape):
    if len(shape) == 1:
        f.write(bf16(1 + 0.05 * rng.standard_normal(shape[0], dtype=np.float32)).tobytes())
        return
    rows, cols = shape
    d = (np.arange(cols) + 1.0) ** -0.35
    d = (d / np.sqrt(np.mean(d * d)) * 0.02).astype(np.float32)[rng.permutation(cols)]
    spikes = [(rng.standard_normal(rows, dtype=np.float32), rng.standard_normal(cols, dtype=np.float32),
               0.02 * s / np.sqrt(rows * cols) * np.sqrt(min(rows, cols))) for s in (6.0, 4.0, 3.0)]
    chunk = max(1, (1 << 24) // cols)  # 64 MB of float32 at a time
    for r0 in range(0, rows, chunk):
        r1 = min(rows, r0 + chunk)
        x = rng.standard_normal((r1 - r0, cols), dtype=np.float32) * d
        for u, v, s in spikes:
            x += np.float32(s) * np.outer(u[r0:r1], v)
        f.write(bf16(x).tobytes())


def main():
    args = sys.argv[1:]
    seed = 1
    if "--seed" in args:
        k = args.index("--seed")
        seed = int(args[k + 1])
        del args[k:k + 2]
    if len(args) != 2 or args[0] not in SHAPES:
        sys.exit(__doc__)
    c, out = SHAPES[args[0]], args[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    all_t = tensors(c)
    total = sum(int(np.prod(s)) * 2 for _, s in all_t)
    per_shard = total / c["shards"] + 1
    shards, cur, size = [], [], 0
    for name, shape in all_t:
        nbytes = int(np.prod(shape)) * 2
        if cur and size + nbytes > per_shard:
            shards.append(cur)
            cur, size = [], 0
        cur.append((name, shape))
        size += nbytes
    shards.append(cur)
    weight_map = {}
    for k, group in enumerate(shards):
        fname = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        header, off = {"__metadata__": {"format": "pt"}}, 0
        for name, shape in group:
            n = int(np.prod(shape)) * 2
            header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
            off += n
            weight_map[name] = fname
        hb = json.dumps(header, separators=(",", ":")).encode()
        hb += b" " * (-len(hb) % 8)
        with open(os.path.join(out, fname), "wb") as f:
            f.write(struct.pack("<Q", len(hb)))
            f.write(hb)
            for name, shape in group:
                write_tensor(f, rng, shape)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": c["hidden"],
        "intermediate_size": c["inter"], "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"],
        "num_key_value_heads": c["kv"], "head_dim": c["hidden"] // c["heads"], "vocab_size": c["vocab"],
        "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": c["rope_theta"],
        "tie_word_embeddings": c["tied"], "hidden_act": "silu", "torch_dtype": "bfloat16",
        "bos_token_id": 128000, "eos_token_id": 128001,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    print(out)


if __name__ == "__main__":
    main()
