#!/usr/bin/python3
"""GGUF oracle for tests/gguf: writes llama.cpp GGUF files with numpy only, from the
published format (ggml docs/gguf.md) and ggml's block layouts (ggml-common.h), and the
numpy-dequantised reference of every tensor as a float32 safetensors file.

  gguf_write.py model SRC_DIR OUT.gguf TYPE REF.safetensors [--alignment N] [--no-merges]
      A Hugging Face llama directory (config.json, model.safetensors, tokenizer.json) as a
      GGUF file the way convert_hf_to_gguf.py lays it out: llama.* metadata, q/k rows
      permuted per head (LlamaModel.permute), 2-D weights in TYPE (F32 F16 BF16 Q8_0 Q4_0 Q4_1
      Q5_0 Q5_1, Q5_K or Q6_K when every row is a multiple of 256; Q4_K: llama-quantize's Q4_K,
      i.e. its Q4_K_M mix with its fallback types, see q4_k_m_types; or K_MIX: Q6_K embedding,
      Q5_K down, Q4_K rest),
      norms in F32, the vocabulary as tokenizer.ggml.* arrays (scores -id, as for a
      vocabulary without SentencePiece scores; merges unless --no-merges). REF holds each tensor
      dequantised by numpy, permutation undone, under its Hugging Face name.
  gguf_write.py tensors OUT.gguf REF.safetensors
      Synthetic tensors of every type (K-quants included), named by type; REF holds each
      one dequantised (NAME) and the values it was quantised from (NAME.orig).
  gguf_write.py change A.safetensors B.safetensors OUT.json
      Per tensor of two references, in float64: ||B - A||_F / ||A||_F (what `sonify compare`
      ranks by).
  gguf_write.py hostile OUT_DIR
      Malformed variants of a small valid file, one per case, named CASE.gguf.

Quantisers: Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 are ggml's quantize_row_*_ref formulas. The K-quant quantisers
are plain min/max ones (not ggml's iterative make_qkx2_quants search): they produce valid
blocks with the reference layout, which is what the dequantiser is tested on.
"""
import json
import os
import struct
import sys

import numpy as np

F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, BF16 = 0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 30
TYPES = {"F32": F32, "F16": F16, "BF16": BF16, "Q8_0": Q8_0, "Q4_0": Q4_0, "Q4_1": Q4_1, "Q5_0": Q5_0,
         "Q5_1": Q5_1, "Q4_K": Q4_K, "Q5_K": Q5_K, "Q6_K": Q6_K}
NAMES = {t: n for n, t in TYPES.items()}
BLOCK = {F32: 1, F16: 1, BF16: 1, Q8_0: 32, Q4_0: 32, Q4_1: 32, Q5_0: 32, Q5_1: 32, Q4_K: 256, Q5_K: 256,
         Q6_K: 256}

# gguf_type
U8, I8, U16, I16, U32, I32, GF32, BOOL, STRING, ARRAY, U64, I64, GF64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", GF32: "<f", BOOL: "<B",
          U64: "<Q", I64: "<q", GF64: "<d"}

f32 = np.float32


# ---------------------------------------------------------------- encoding

def gstr(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gvalue(vtype, v):
    if vtype == STRING:
        return gstr(v)
    if vtype == ARRAY:
        etype, items = v
        out = struct.pack("<IQ", etype, len(items))
        return out + b"".join(gvalue(etype, x) for x in items)
    return struct.pack(SCALAR[vtype], v)


def gguf_bytes(kvs, tensors, alignment=32, version=3):
    """kvs: [(key, type, value)]; tensors: [(name, ne list, ggml type, data bytes)]."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)))
    for key, vtype, v in kvs:
        out += gstr(key) + struct.pack("<I", vtype) + gvalue(vtype, v)
    offset = 0
    offsets = []
    for name, ne, ttype, data in tensors:
        offsets.append(offset)
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        out += struct.pack("<IQ", ttype, offset)
        offset += len(data)
        offset += (-offset) % alignment
    out += b"\0" * ((-len(out)) % alignment)
    for (name, ne, ttype, data), off in zip(tensors, offsets):
        out += data
        out += b"\0" * ((-len(out)) % alignment)
    return bytes(out)


def write_safetensors(path, tensors):
    """tensors: {name: float32 array}."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", e["dtype"]
        b, en = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + en], dtype="<f4").reshape(e["shape"]).copy()
    return out


# ---------------------------------------------------------------- quantisers

def to_bf16_bits(x):
    u = x.astype(f32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def q8_0(x):
    """quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d) (half away from zero)."""
    b = x.reshape(-1, 32).astype(f32)
    amax = np.abs(b).max(axis=1)
    d = (amax / f32(127)).astype(f32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, f32(1) / d, f32(0)).astype(f32)
    v = (b * idv[:, None]).astype(f32)
    q = (np.sign(v) * np.floor(np.abs(v) + f32(0.5))).astype(np.int8)
    out = np.zeros((b.shape[0], 34), np.uint8)
    out[:, 0:2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def q4_0(x):
    """quantize_row_q4_0_ref: d = (the signed value of largest magnitude) / -8,
    q = min(15, (int8)(x / d + 8.5))."""
    b = x.reshape(-1, 32).astype(f32)
    first = np.abs(b).argmax(axis=1)  # the first of equal magnitudes, as the strict < in ggml
    mx = b[np.arange(b.shape[0]), first]
    d = (mx / f32(-8)).astype(f32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, f32(1) / d, f32(0)).astype(f32)
    v = ((b * idv[:, None]).astype(f32) + f32(8.5)).astype(f32)
    q = np.minimum(15, np.trunc(v).astype(np.int64)).astype(np.uint8)
    out = np.zeros((b.shape[0], 18), np.uint8)
    out[:, 0:2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def q5_0(x):
    """quantize_row_q5_0_ref: as Q4_0 with 5 bits, d = (the value of largest magnitude) / -16,
    q = min(31, (int8)(x / d + 16.5)); bit 4 of element j goes to bit j of qh."""
    b = x.reshape(-1, 32).astype(f32)
    first = np.abs(b).argmax(axis=1)
    mx = b[np.arange(b.shape[0]), first]
    d = (mx / f32(-16)).astype(f32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, f32(1) / d, f32(0)).astype(f32)
    v = ((b * idv[:, None]).astype(f32) + f32(16.5)).astype(f32)
    q = np.minimum(31, np.trunc(v).astype(np.int64)).astype(np.uint32)
    out = np.zeros((b.shape[0], 22), np.uint8)
    out[:, 0:2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:6] = fifth_bits(q)
    out[:, 6:] = (q[:, :16] & 0xF) | ((q[:, 16:] & 0xF) << 4)
    return out.tobytes()


def fifth_bits(q):
    """qh of Q5_0/Q5_1: bit j holds bit 4 of element j, little-endian."""
    qh = (((q >> 4) & 1) << np.arange(32, dtype=np.uint32)).sum(axis=1).astype("<u4")
    return qh.view(np.uint8).reshape(-1, 4)


def q_1(x, bits):
    """quantize_row_q4_1_ref / q5_1_ref: d = (max - min) / (2^bits - 1), m = min,
    q = (uint8)((x - min) / d + 0.5) (at most 2^bits - 1)."""
    b = x.reshape(-1, 32).astype(f32)
    lo, hi = b.min(axis=1), b.max(axis=1)
    d = ((hi - lo) / f32((1 << bits) - 1)).astype(f32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, f32(1) / d, f32(0)).astype(f32)
    v = (((b - lo[:, None]).astype(f32) * idv[:, None]).astype(f32) + f32(0.5)).astype(f32)
    q = np.minimum((1 << bits) - 1, np.trunc(v).astype(np.int64)).astype(np.uint32)
    head = np.concatenate([d.astype("<f2").view(np.uint8).reshape(-1, 2),
                           lo.astype("<f2").view(np.uint8).reshape(-1, 2)], axis=1)
    qs = ((q[:, :16] & 0xF) | ((q[:, 16:] & 0xF) << 4)).astype(np.uint8)
    parts = [head, fifth_bits(q), qs] if bits == 5 else [head, qs]
    return np.concatenate(parts, axis=1).astype(np.uint8).tobytes()


def pack_scales_k4(sc, m):
    """The 12 bytes of 8 six-bit scales and mins (inverse of get_scale_min_k4)."""
    s = np.zeros(12, np.uint8)
    for j in range(4):
        s[j] = sc[j] | ((sc[j + 4] >> 4) << 6)
        s[j + 4] = m[j] | ((m[j + 4] >> 4) << 6)
        s[j + 8] = (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4)
    return s


def half_round(v):
    return np.float32(np.float16(v))


def kquant_scales(b, levels):
    """Per 32-element sub-block: scale (hi - lo) / levels and min -lo, as 6-bit multiples
    of d and dmin. Returns (d, dmin, sc, m, q) with q the levels."""
    sub = b.reshape(8, 32)
    lo = np.minimum(sub.min(axis=1), 0).astype(f32)
    hi = sub.max(axis=1).astype(f32)
    scale = ((hi - lo) / f32(levels)).astype(f32)
    mins = (-lo).astype(f32)
    d = half_round(scale.max() / 63)
    dmin = half_round(mins.max() / 63)
    sc = np.clip(np.rint(scale / d) if d > 0 else np.zeros(8), 0, 63).astype(np.uint8)
    m = np.clip(np.rint(mins / dmin) if dmin > 0 else np.zeros(8), 0, 63).astype(np.uint8)
    eff = (d * sc.astype(f32)).astype(f32)
    effm = (dmin * m.astype(f32)).astype(f32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(eff[:, None] > 0, np.rint((sub + effm[:, None]) / eff[:, None]), 0)
    q = np.clip(q, 0, levels).astype(np.uint8).reshape(256)
    return d, dmin, sc, m, q


def q4_k(x):
    out = []
    for b in x.reshape(-1, 256).astype(f32):
        d, dmin, sc, m, q = kquant_scales(b, 15)
        qs = np.zeros(128, np.uint8)
        for c in range(4):  # 64 elements per 32 bytes: low nibbles then high nibbles
            qs[32 * c:32 * c + 32] = q[64 * c:64 * c + 32] | (q[64 * c + 32:64 * c + 64] << 4)
        out.append(np.float16(d).tobytes() + np.float16(dmin).tobytes() + pack_scales_k4(sc, m).tobytes() +
                   qs.tobytes())
    return b"".join(out)


def q5_k(x):
    out = []
    for b in x.reshape(-1, 256).astype(f32):
        d, dmin, sc, m, q = kquant_scales(b, 31)
        qs = np.zeros(128, np.uint8)
        qh = np.zeros(32, np.uint8)
        for c in range(4):
            lo, hi = q[64 * c:64 * c + 32], q[64 * c + 32:64 * c + 64]
            qs[32 * c:32 * c + 32] = (lo & 0xF) | ((hi & 0xF) << 4)
            qh |= ((lo >> 4) & 1) << (2 * c)
            qh |= ((hi >> 4) & 1) << (2 * c + 1)
        out.append(np.float16(d).tobytes() + np.float16(dmin).tobytes() + pack_scales_k4(sc, m).tobytes() +
                   qh.tobytes() + qs.tobytes())
    return b"".join(out)


def q6_k(x):
    out = []
    for b in x.reshape(-1, 256).astype(f32):
        sub = b.reshape(16, 16)
        scale = (np.abs(sub).max(axis=1) / f32(31)).astype(f32)
        d = half_round(scale.max() / 127)
        sc = np.clip(np.rint(scale / d) if d > 0 else np.zeros(16), 0, 127).astype(np.int8)
        eff = (d * sc.astype(f32)).astype(f32)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(eff[:, None] > 0, np.rint(sub / eff[:, None]), 0)
        q = (np.clip(q, -32, 31) + 32).astype(np.uint8).reshape(256)
        ql = np.zeros(128, np.uint8)
        qh = np.zeros(64, np.uint8)
        for n in range(2):
            e = q[128 * n:128 * n + 128]
            l = np.arange(32)
            ql[64 * n + l] = (e[l] & 0xF) | ((e[l + 64] & 0xF) << 4)
            ql[64 * n + 32 + l] = (e[l + 32] & 0xF) | ((e[l + 96] & 0xF) << 4)
            qh[32 * n + l] = (e[l] >> 4) | ((e[l + 32] >> 4) << 2) | ((e[l + 64] >> 4) << 4) | ((e[l + 96] >> 4) << 6)
        out.append(ql.tobytes() + qh.tobytes() + sc.tobytes() + np.float16(d).tobytes())
    return b"".join(out)


def quantize(x, ttype):
    x = np.ascontiguousarray(x, dtype=f32)
    if ttype == F32:
        return x.astype("<f4").tobytes()
    if ttype == F16:
        return x.astype("<f2").tobytes()
    if ttype == BF16:
        return to_bf16_bits(x).astype("<u2").tobytes()
    return {Q8_0: q8_0, Q4_0: q4_0, Q4_1: lambda v: q_1(v, 4), Q5_0: q5_0, Q5_1: lambda v: q_1(v, 5),
            Q4_K: q4_k, Q5_K: q5_k, Q6_K: q6_k}[ttype](x)


# ---------------------------------------------------------------- dequantisers (float32, ggml's order)

def h16(raw):
    return np.frombuffer(raw.tobytes(), dtype="<f2").astype(f32)


def dequantize(data, ttype, n):
    raw = np.frombuffer(data, dtype=np.uint8)
    if ttype == F32:
        return np.frombuffer(data, dtype="<f4").copy()
    if ttype == F16:
        return np.frombuffer(data, dtype="<f2").astype(f32)
    if ttype == BF16:
        return (np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16).view(f32)
    if ttype == Q8_0:
        b = raw.reshape(-1, 34)
        d = h16(b[:, 0:2])
        return (b[:, 2:].view(np.int8).astype(f32) * d[:, None]).astype(f32).reshape(-1)
    if ttype == Q4_0:
        b = raw.reshape(-1, 18)
        d = h16(b[:, 0:2])
        qs = b[:, 2:]
        lo = ((qs & 0xF).astype(np.int32) - 8).astype(f32)
        hi = ((qs >> 4).astype(np.int32) - 8).astype(f32)
        return (np.concatenate([lo, hi], axis=1) * d[:, None]).astype(f32).reshape(-1)
    if ttype in (Q4_1, Q5_0, Q5_1):
        size = {Q4_1: 20, Q5_0: 22, Q5_1: 24}[ttype]
        b = raw.reshape(-1, size)
        d = h16(b[:, 0:2])[:, None]
        m = h16(b[:, 2:4])[:, None] if ttype != Q5_0 else None
        qs = b[:, size - 16:]
        q = np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.int32)
        if ttype != Q4_1:
            qh = b[:, size - 20:size - 16].copy().view("<u4").astype(np.int64)
            q = q | (((qh >> np.arange(32)) << 4) & 0x10)
        if ttype == Q5_0:
            return ((q - 16).astype(f32) * d).astype(f32).reshape(-1)
        return ((q.astype(f32) * d).astype(f32) + m).astype(f32).reshape(-1)
    y = []
    if ttype in (Q4_K, Q5_K):
        size = 144 if ttype == Q4_K else 176
        for b in raw.reshape(-1, size):
            d, dmin = h16(b[0:2])[0], h16(b[2:4])[0]
            s = b[4:16]
            sc = np.zeros(8, np.uint8)
            m = np.zeros(8, np.uint8)
            for j in range(8):
                if j < 4:
                    sc[j], m[j] = s[j] & 63, s[j + 4] & 63
                else:
                    sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4)
                    m[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4)
            qh = b[16:48] if ttype == Q5_K else None
            qs = b[16:144] if ttype == Q4_K else b[48:176]
            for c in range(4):
                q = qs[32 * c:32 * c + 32]
                for half, nib in ((0, q & 0xF), (1, q >> 4)):
                    v = nib.astype(np.int32)
                    if qh is not None:
                        v = v + np.where(qh & (1 << (2 * c + half)), 16, 0)
                    is_ = 2 * c + half
                    d1 = f32(d * f32(sc[is_]))
                    m1 = f32(dmin * f32(m[is_]))
                    y.append(((d1 * v.astype(f32)).astype(f32) - m1).astype(f32))
        return np.concatenate(y)
    if ttype == Q6_K:
        for b in raw.reshape(-1, 210):
            d = h16(b[208:210])[0]
            for n in range(2):
                ql, qh = b[64 * n:64 * n + 64], b[128 + 32 * n:128 + 32 * n + 32]
                sc = b[192 + 8 * n:192 + 8 * n + 8].view(np.int8)
                l = np.arange(32)
                q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)).astype(np.int32) - 32
                q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)).astype(np.int32) - 32
                q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)).astype(np.int32) - 32
                q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)).astype(np.int32) - 32
                for k, q in enumerate((q1, q2, q3, q4)):
                    s = sc[l // 16 + 2 * k].astype(f32)
                    y.append(((d * s).astype(f32) * q.astype(f32)).astype(f32))
        return np.concatenate(y)
    raise ValueError(ttype)


# ---------------------------------------------------------------- model files

def permute(w, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


# convert_hf_to_gguf.py's tensor names (gguf-py's TensorNameMap) per architecture: HF layer
# suffix -> GGUF suffix.
LAYER_NAMES = {
    "llama": {
        "input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
        "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
        "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
    },
    "phi3": {
        "input_layernorm.weight": "attn_norm.weight", "self_attn.qkv_proj.weight": "attn_qkv.weight",
        "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
        "mlp.gate_up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
    },
    "gemma3": {
        "input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
        "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
        "self_attn.o_proj.weight": "attn_output.weight", "self_attn.q_norm.weight": "attn_q_norm.weight",
        "self_attn.k_norm.weight": "attn_k_norm.weight",
        "post_attention_layernorm.weight": "post_attention_norm.weight",
        "pre_feedforward_layernorm.weight": "ffn_norm.weight",
        "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
    },
    "gpt2": {
        "ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output", "ln_2": "ffn_norm",
        "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down",
    },
}
LAYER_NAMES["qwen2"] = dict(LAYER_NAMES["llama"], **{
    "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias"})
ARCH = {"llama": "llama", "qwen2": "qwen2", "phi3": "phi3", "gemma3_text": "gemma3", "gpt2": "gpt2"}


def gguf_name(hf, arch="llama"):
    """The GGUF name of a Hugging Face tensor, and what the converter does to it:
    'transpose' (GPT2Model: Conv1D c_attn/c_proj/c_fc weights), 'norm+1' (Gemma3Model adds
    norm_shift 1 to every norm.weight), or None."""
    if arch == "gpt2":
        top = {"transformer.wte.weight": "token_embd.weight", "transformer.wpe.weight": "position_embd.weight",
               "transformer.ln_f.weight": "output_norm.weight", "transformer.ln_f.bias": "output_norm.bias",
               "lm_head.weight": "output.weight"}
        if hf in top:
            return top[hf], None
        parts = hf.split(".")
        assert parts[:2] == ["transformer", "h"], hf
        module, kind = ".".join(parts[3:-1]), parts[-1]
        transform = "transpose" if kind == "weight" and module.startswith(("attn.", "mlp.")) else None
        return "blk.%s.%s.%s" % (parts[2], LAYER_NAMES["gpt2"][module], kind), transform
    shift = "norm+1" if arch == "gemma3" and hf.endswith("norm.weight") else None
    top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
           "lm_head.weight": "output.weight"}
    if hf in top:
        return top[hf], shift
    parts = hf.split(".")
    assert parts[0] == "model" and parts[1] == "layers", hf
    return "blk.%s.%s" % (parts[2], LAYER_NAMES[arch][".".join(parts[3:])]), shift


def arch_kvs(arch, cfg):
    """set_gguf_parameters of convert_hf_to_gguf.py's model class for `arch`."""
    if arch == "gpt2":
        return [
            ("gpt2.block_count", U32, cfg["n_layer"]),
            ("gpt2.context_length", U32, cfg["n_ctx"]),
            ("gpt2.embedding_length", U32, cfg["n_embd"]),
            ("gpt2.feed_forward_length", U32, 4 * cfg["n_embd"]),
            ("gpt2.attention.head_count", U32, cfg["n_head"]),
            ("gpt2.attention.layer_norm_epsilon", GF32, float(cfg["layer_norm_epsilon"])),
        ]
    n_head = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_head)
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head
    kvs = [
        (arch + ".block_count", U32, cfg["num_hidden_layers"]),
        (arch + ".context_length", U32, cfg["max_position_embeddings"]),
        (arch + ".embedding_length", U32, cfg["hidden_size"]),
        (arch + ".feed_forward_length", U32, cfg["intermediate_size"]),
        (arch + ".attention.head_count", U32, n_head),
        (arch + ".attention.head_count_kv", U32, n_kv),
        (arch + ".rope.freq_base", GF32, float(cfg.get("rope_theta", 1e6 if arch == "gemma3" else 10000.0))),
        (arch + ".attention.layer_norm_rms_epsilon", GF32, float(cfg.get("rms_norm_eps", 1e-6))),
    ]
    if arch == "gemma3":
        kvs += [(arch + ".attention.key_length", U32, head_dim), (arch + ".attention.value_length", U32, head_dim),
                (arch + ".attention.sliding_window", U32, cfg["sliding_window"])]
    else:
        kvs += [(arch + ".rope.dimension_count", U32, head_dim), (arch + ".vocab_size", U32, cfg["vocab_size"])]
    if arch == "phi3" and cfg.get("sliding_window"):
        kvs.append((arch + ".attention.sliding_window", U32, cfg["sliding_window"]))
    return kvs


def tokenizer_kvs(src, with_merges):
    tok = json.load(open(src + "/tokenizer.json"))
    vocab = tok["model"]["vocab"]
    n = max(vocab.values()) + 1
    tokens = [""] * n
    for piece, i in vocab.items():
        tokens[i] = piece
    special = {t["id"] for t in tok.get("added_tokens", []) if t.get("special")}
    unk = vocab.get(tok["model"].get("unk_token") or "", -1)
    types = []
    for i, t in enumerate(tokens):
        if i == unk:
            types.append(2)  # UNKNOWN
        elif i in special:
            types.append(3)  # CONTROL
        elif len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
            types.append(6)  # BYTE
        else:
            types.append(1)  # NORMAL
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"].get("merges", [])]
    cfg = json.load(open(src + "/tokenizer_config.json"))
    if (tok.get("pre_tokenizer") or {}).get("type") == "ByteLevel":
        # _set_vocab_gpt2: byte-level BPE; control for special added tokens, user-defined for
        # the others; "gpt-2" as the pre-tokenizer (what its hash table names GPT-2's).
        added = {t["id"]: t for t in tok.get("added_tokens", [])}
        kvs = [
            ("tokenizer.ggml.model", STRING, "gpt2"),
            ("tokenizer.ggml.pre", STRING, "gpt-2"),
            ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
            ("tokenizer.ggml.token_type", ARRAY,
             (I32, [(3 if added[i].get("special") else 4) if i in added else 1 for i in range(n)])),
            ("tokenizer.ggml.merges", ARRAY, (STRING, merges)),
        ]
        if "add_bos_token" in cfg:
            kvs.append(("tokenizer.ggml.add_bos_token", BOOL, int(bool(cfg["add_bos_token"]))))
        return kvs
    kvs = [
        ("tokenizer.ggml.model", STRING, "llama"),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
        # LlamaHfVocab gives a tokenizer.json vocabulary scores by id: -id.
        ("tokenizer.ggml.scores", ARRAY, (GF32, [float(-i) for i in range(n)])),
        ("tokenizer.ggml.token_type", ARRAY, (I32, types)),
        ("tokenizer.ggml.add_bos_token", BOOL, int(bool(cfg.get("add_bos_token", True)))),
        ("tokenizer.ggml.add_eos_token", BOOL, int(bool(cfg.get("add_eos_token", False)))),
    ]
    if with_merges:
        kvs.append(("tokenizer.ggml.merges", ARRAY, (STRING, merges)))
    if unk >= 0:
        kvs.append(("tokenizer.ggml.unknown_token_id", U32, unk))
    return kvs


def use_more_bits(i, n):
    """llama-quant.cpp's use_more_bits: the first and last eighth of the layers and every
    third one between."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


# llama-quant.cpp's tensor_type_fallback: a row not a multiple of the 256-element
# super-block takes a 32-block type of about the same size.
FALLBACK = {Q4_K: Q5_0, Q5_K: Q5_1, Q6_K: Q8_0}


def q4_k_m_types(tensors, n_layer):
    """The type llama-quantize gives each tensor of a file quantised as Q4_K (its alias for
    Q4_K_M), from llama-quant.cpp's llama_tensor_get_type with no imatrix and no overrides:
    the output matrix (token_embd when tied) Q6_K, or Q8_0 when its rows are not a multiple
    of 256; attn_v and ffn_down Q6_K in the layers use_more_bits picks; the rest Q4_K; then
    the fallback for rows not a multiple of 256 (F16 when not even of 32); 1-D tensors as
    they are. tensors: [(gguf name, ne)] in file order."""
    has_output = any(name == "output.weight" for name, _ in tensors)
    n_attn_v = sum(name.endswith("attn_v.weight") for name, _ in tensors)
    i_attn_v = i_ffn_down = 0
    types = []
    for name, ne in tensors:
        if len(ne) < 2 or name.endswith("_norm.weight"):
            types.append(F32)
            continue
        t = Q4_K
        if name == "output.weight" or (not has_output and name == "token_embd.weight"):
            t = Q8_0 if ne[0] % 256 else Q6_K
        elif name.endswith("attn_v.weight"):
            t = Q6_K if use_more_bits(i_attn_v, n_attn_v) else Q4_K
            i_attn_v += 1
        elif name.endswith("ffn_down.weight"):
            t = Q6_K if use_more_bits(i_ffn_down, n_layer) else Q4_K
            i_ffn_down += 1
        if ne[0] % BLOCK[t]:
            if t not in FALLBACK:  # llama.cpp stops: "no tensor type fallback is defined"
                raise ValueError("%s: %d columns fit no fallback of %s" % (name, ne[0], NAMES[t]))
            t = FALLBACK[t]
            if ne[0] % BLOCK[t]:
                t = F16
        types.append(t)
    return types


def write_model(src, out, type_name, ref, alignment=32, with_merges=True):
    cfg = json.load(open(src + "/config.json"))
    arch = ARCH[cfg["model_type"]]
    # K_MIX: a Q4_K_M-like mix, every K-quant in one file: Q6_K embedding, Q5_K down, Q4_K rest.
    ttype = TYPES.get(type_name, Q4_K)
    weights = read_safetensors(src + "/model.safetensors")
    # GGUF ties by storing token_embd and no output tensor; a tied checkpoint may store its
    # one matrix as lm_head.
    embed = "transformer.wte.weight" if arch == "gpt2" else "model.embed_tokens.weight"
    if cfg.get("tie_word_embeddings", arch in ("gpt2", "gemma3")):
        if embed not in weights:
            weights[embed] = weights["lm_head.weight"]
        weights.pop("lm_head.weight", None)
    for name in list(weights):  # GPT2Model drops the causal-mask buffers
        if name.endswith((".attn.bias", ".attn.masked_bias")) and weights[name].ndim != 1:
            del weights[name]
    kvs = [
        ("general.architecture", STRING, arch),
        ("general.name", STRING, src.rstrip("/").split("/")[-1]),
        ("general.alignment", U32, alignment),
    ] + arch_kvs(arch, cfg)
    for key in ("bos", "eos"):
        if cfg.get(key + "_token_id") is not None:
            kvs.append(("tokenizer.ggml.%s_token_id" % key, U32, cfg[key + "_token_id"]))
    if os.path.exists(src + "/tokenizer.json"):
        kvs += tokenizer_kvs(src, with_merges)
    tensors, reference = [], {}
    names = sorted(weights)
    mix = [None] * len(names)
    if type_name in ("Q4_K", "Q4_K_M"):
        mix = q4_k_m_types([(gguf_name(hf, arch)[0], list(reversed(weights[hf].shape))) for hf in names],
                           cfg.get("num_hidden_layers", cfg.get("n_layer")))
    for hf, t_mix in zip(names, mix):
        w = weights[hf]
        name, transform = gguf_name(hf, arch)
        heads = 0
        if arch == "llama":  # only LlamaModel permutes; the other rotate as HF does
            n_head = cfg["num_attention_heads"]
            n_kv = cfg.get("num_key_value_heads", n_head)
            heads = n_head if hf.endswith("q_proj.weight") else n_kv if hf.endswith("k_proj.weight") else 0
        stored = permute(w, heads) if heads else w
        if transform == "transpose":
            stored = np.ascontiguousarray(w.T)
        if transform == "norm+1":
            stored = (w + f32(1)).astype(f32)
        t = ttype if w.ndim == 2 else F32
        if type_name == "K_MIX" and w.ndim == 2:
            t = Q6_K if "embed" in hf or "lm_head" in hf else Q5_K if "down_proj" in hf else Q4_K
        if type_name in ("Q4_K", "Q4_K_M"):
            t = t_mix
        data = quantize(stored, t)
        back = dequantize(data, t, stored.size).reshape(stored.shape)
        if heads:
            back = unpermute(back, heads)
        if transform == "transpose":
            back = np.ascontiguousarray(back.T)
        if transform == "norm+1":
            back = (back - f32(1)).astype(f32)
        reference[hf] = back
        tensors.append((name, list(reversed(stored.shape)), t, data))
    with open(out, "wb") as f:
        f.write(gguf_bytes(kvs, tensors, alignment))
    write_safetensors(ref, reference)


def write_tensors(out, ref):
    rng = np.random.default_rng(18)
    tensors, reference = [], {}
    shapes = {F32: (3, 40), F16: (3, 40), BF16: (3, 40), Q8_0: (5, 96), Q4_0: (5, 96), Q4_1: (5, 96),
              Q5_0: (5, 96), Q5_1: (5, 96), Q4_K: (3, 512), Q5_K: (3, 512), Q6_K: (3, 512)}
    for name, t in TYPES.items():
        rows, cols = shapes[t]
        x = (rng.standard_normal((rows, cols)) * rng.uniform(0.01, 3, (rows, 1))).astype(f32)
        x[0, :BLOCK[t]] = 0  # an all-zero block
        x[1, :BLOCK[t]] = -np.abs(x[1, :BLOCK[t]])  # one of negatives only
        data = quantize(x, t)
        reference[name] = dequantize(data, t, x.size).reshape(rows, cols)
        reference[name + ".orig"] = x
        tensors.append((name, [cols, rows], t, data))
    kvs = [("general.architecture", STRING, "none"), ("general.alignment", U32, 64)]
    with open(out, "wb") as f:
        f.write(gguf_bytes(kvs, tensors, 64))
    write_safetensors(ref, reference)


# ---------------------------------------------------------------- hostile cases

def write_hostile(outdir):
    w = np.arange(64, dtype=f32).reshape(2, 32) / 64
    good_kvs = [("general.architecture", STRING, "llama"), ("general.alignment", U32, 32)]
    good_t = [("token_embd.weight", [32, 2], Q8_0, quantize(w, Q8_0))]
    cases = {}

    def case(name, data):
        cases[name] = data

    base = gguf_bytes(good_kvs, good_t)
    case("bad_magic", b"GGUX" + base[4:])
    case("version_1", base[:4] + struct.pack("<I", 1) + base[8:])
    case("version_4", base[:4] + struct.pack("<I", 4) + base[8:])
    case("huge_tensor_count", base[:8] + struct.pack("<Q", 1 << 62) + base[16:])
    case("huge_kv_count", base[:16] + struct.pack("<Q", (1 << 64) - 1) + base[24:])
    case("truncated_header", base[:20])
    case("truncated_data", base[:-40])
    case("empty", b"")
    case("huge_key_length", base[:24] + struct.pack("<Q", 1 << 60) + base[32:])
    case("huge_array", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("a") + struct.pack("<IIQ", ARRAY, U32, 1 << 61))
    case("unknown_value_type", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("x") + struct.pack("<II", 13, 7))
    case("bad_bool", gguf_bytes([("x", BOOL, 2)], []))
    case("alignment_not_power_of_two", gguf_bytes([("general.alignment", U32, 48)], good_t, 16))
    case("alignment_zero", gguf_bytes([("general.alignment", U32, 0)], []))
    case("alignment_wrong_type", gguf_bytes([("general.alignment", U64, 32)], []))
    case("duplicate_key", gguf_bytes([("x", U8, 1), ("x", U8, 2)], []))
    case("unknown_tensor_type", gguf_bytes(good_kvs, [("t", [256, 2], 10, b"\0" * 168)]))
    case("not_a_type", gguf_bytes(good_kvs, [("t", [32, 2], 99, b"\0" * 64)]))
    case("row_not_block_multiple", gguf_bytes(good_kvs, [("t", [16, 4], Q8_0, b"\0" * 136)]))
    case("zero_dims", gguf_bytes(good_kvs, [("t", [], F32, b"")]))
    case("five_dims", gguf_bytes(good_kvs, [("t", [1, 1, 1, 1, 1], F32, b"\0" * 4)]))
    case("zero_dimension", gguf_bytes(good_kvs, [("t", [0, 4], F32, b"")]))
    case("numel_overflow", gguf_bytes(good_kvs, [("t", [1 << 32, 1 << 32], F32, b"")]))
    case("offset_past_eof", gguf_bytes(good_kvs, [("t", [1 << 20], F32, b"\0" * 64)]))
    case("duplicate_tensor", gguf_bytes(good_kvs, [("t", [8], F32, b"\0" * 32), ("t", [8], F32, b"\0" * 32)]))
    case("long_tensor_name", gguf_bytes(good_kvs, [("t" * 64, [8], F32, b"\0" * 32)]))
    # Second tensor's offset made unaligned, then overlapping the first.
    two = [("a", [8], F32, b"\0" * 32), ("b", [8], F32, b"\0" * 32)]
    ok = gguf_bytes(good_kvs, two)
    ib = ok.index(gstr("b")) + len(gstr("b")) + 4 + 8 + 4
    case("misaligned_offset", ok[:ib] + struct.pack("<Q", 33) + ok[ib + 8:])
    case("overlapping_tensors", ok[:ib] + struct.pack("<Q", 0) + ok[ib + 8:])
    case("nested_arrays_too_deep",
         gguf_bytes([("x", ARRAY, (ARRAY, [(ARRAY, [(ARRAY, [(ARRAY, [(U8, [1])])])])]))], []))
    case("no_architecture", gguf_bytes([("general.alignment", U32, 32)], good_t))
    case("unsupported_architecture", gguf_bytes([("general.architecture", STRING, "mamba")], good_t))
    case("missing_block_count", gguf_bytes(good_kvs, good_t))
    phi3 = [("general.architecture", STRING, "phi3")] + [
        ("phi3." + k, U32, 2) for k in ("block_count", "embedding_length", "attention.head_count",
                                        "feed_forward_length", "context_length")] + [
        ("phi3.attention.layer_norm_rms_epsilon", GF32, 1e-5)]
    case("phi3_longrope", gguf_bytes(phi3, good_t + [("rope_factors_long.weight", [8], F32, b"\0" * 32)]))
    for name, data in cases.items():
        with open("%s/%s.gguf" % (outdir, name), "wb") as f:
            f.write(data)


def write_change(ref_a, ref_b, out):
    a, b = read_safetensors(ref_a), read_safetensors(ref_b)
    change = {}
    for name in sorted(a):
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        na, nd = np.sqrt((x * x).sum()), np.sqrt(((y - x) ** 2).sum())
        change[name] = nd / na if na > 0 else nd
    with open(out, "w") as f:
        json.dump(change, f, indent=1, sort_keys=True)


def main(argv):
    if argv[1] == "model":
        flags = argv[6:]
        alignment = int(flags[flags.index("--alignment") + 1]) if "--alignment" in flags else 32
        write_model(argv[2], argv[3], argv[4], argv[5], alignment, "--no-merges" not in flags)
    elif argv[1] == "tensors":
        write_tensors(argv[2], argv[3])
    elif argv[1] == "change":
        write_change(argv[2], argv[3], argv[4])
    elif argv[1] == "hostile":
        write_hostile(argv[2])
    else:
        sys.exit("usage: gguf_write.py model|tensors|change|hostile ...")


if __name__ == "__main__":
    main(sys.argv)
