#!/usr/bin/python3
"""Oracle for the tokenizer's hand-written split patterns: the same regexes run by the
`regex` module (Debian python3-regex). Reads a JSON list of texts from the file named
by argv[1]; prints {"gpt2": [[piece, ...], ...], "llama3": ..., "qwen2": ...}."""
import json
import sys

import regex

PATTERNS = {
    "gpt2": r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "llama3": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "qwen2": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
}

with open(sys.argv[1], encoding="utf-8") as f:
    texts = json.load(f)
out = {name: [regex.findall(p, t) for t in texts] for name, p in PATTERNS.items()}
json.dump(out, sys.stdout)
