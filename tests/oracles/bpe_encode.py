#!/usr/bin/python3
"""Oracle for the BPE encoder: a deliberately simple, slow re-implementation for the two
fixture tokenizers. Usage: bpe_encode.py MODE TOKENIZER_JSON TEXTS_JSON
  MODE gpt2:        GPT-2 regex split (Python `regex`), bytes_to_unicode, BPE, no specials.
  MODE sentencepiece: Prepend "▁" + Replace " "→"▁" (TinyStories), BPE with <unk> for
                    characters not in the vocab (consecutive ones fused), BOS id 1.
BPE: repeatedly merge the adjacent pair with the lowest merge rank, leftmost first.
Prints a JSON list with one id list per text."""
import json
import sys

import regex

mode, tok_path, texts_path = sys.argv[1:4]
tok = json.load(open(tok_path, encoding="utf-8"))
vocab = tok["model"]["vocab"]
merges = tok["model"]["merges"]
ranks = {}
for i, m in enumerate(merges):
    pair = tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
    ranks.setdefault(pair, i)


def bpe(symbols):
    symbols = list(symbols)
    while True:
        best = None
        for i in range(len(symbols) - 1):
            r = ranks.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            return symbols
        i = best[1]
        symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]


def byte_table():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def encode_gpt2(text):
    table = byte_table()
    ids = []
    for piece in regex.findall(GPT2, text):
        ids += [vocab[s] for s in bpe(table[b] for b in piece.encode("utf-8"))]
    return ids


def encode_sentencepiece(text):
    normalized = "\u2581" + text.replace(" ", "\u2581")
    # Characters outside the vocab become <unk> markers that BPE never merges.
    symbols = []
    for ch in normalized:
        if ch in vocab:
            symbols.append(ch)
        elif symbols and symbols[-1] is None:
            continue
        else:
            symbols.append(None)
    ids = [1]
    run = []
    for s in symbols + [None]:
        if s is None:
            ids += [vocab[x] for x in bpe(run)]
            run = []
            ids.append(0)
        else:
            run.append(s)
    ids.pop()  # the sentinel's <unk>
    return ids


texts = json.load(open(texts_path, encoding="utf-8"))
fn = encode_gpt2 if mode == "gpt2" else encode_sentencepiece
json.dump([fn(t) for t in texts], sys.stdout)
