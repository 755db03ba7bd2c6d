#!/usr/bin/env bash
# Benchmark: tokenise ~1 MB of English text (Debian's licence texts, repeated) with the
# GPT-2 fixture tokenizer (byte-level, regex split) and the TinyStories one (no
# pre-tokenizer: each line of text is one long BPE word). Baseline measured in the same
# run: a plain Python GPT-2 BPE encoder (regex split + per-word merge loop with a word
# cache, the shape of OpenAI's original encoder.py) on the same text and tokenizer.json,
# which must also produce the same ids. Prints figures; asserts nothing.
# Usage: bench/tokenize.sh [BUILD_DIR]   (needs the fixtures and python3-regex)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
FIX=${SONIFY_FIXTURES:-$ROOT/../shared/fixtures}
TEXT=$BUILD/bench/english-1mb.txt
cmake --build "$BUILD" --target bench_tokenize >/dev/null

if [ ! -f "$TEXT" ]; then
  /usr/bin/python3 - "$TEXT" <<'PY'
import glob, sys
parts = [open(p, encoding="utf-8", errors="ignore").read()
         for p in sorted(glob.glob("/usr/share/common-licenses/*")) if not p.endswith("GFDL")]
text = "\n".join(parts)
out = ""
while len(out.encode()) < 1_000_000:
    out += text
open(sys.argv[1], "w", encoding="utf-8").write(out.encode()[:1_000_000].decode("utf-8", "ignore"))
PY
fi
echo "load: $(uptime)"
GPT2=$FIX/tokenizers/gpt2/tokenizer.json
TS=$FIX/models/TinyStories-656K/tokenizer.json
gpt2=$("$BUILD/bench/bench_tokenize" "$GPT2" "$TEXT" 5)
ts=$("$BUILD/bench/bench_tokenize" "$TS" "$TEXT" 5)
base=$(/usr/bin/python3 - "$GPT2" "$TEXT" <<'PY'
import json, sys, time
import regex
tok = json.load(open(sys.argv[1], encoding="utf-8"))
vocab = tok["model"]["vocab"]
ranks = {tuple(m.split(" ")): i for i, m in enumerate(tok["model"]["merges"])}
bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
byte_char = {b: chr(c) for b, c in zip(bs, cs)}
pat = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
cache = {}
def bpe(word):
    if word in cache:
        return cache[word]
    parts = list(word)
    while len(parts) > 1:
        best = min(range(len(parts) - 1), key=lambda i: ranks.get((parts[i], parts[i + 1]), 1 << 30))
        if (parts[best], parts[best + 1]) not in ranks:
            break
        parts[best:best + 2] = [parts[best] + parts[best + 1]]
    cache[word] = [vocab[p] for p in parts]
    return cache[word]
text = open(sys.argv[2], encoding="utf-8").read()
t = time.perf_counter()
ids = []
for piece in pat.findall(text):
    ids.extend(bpe("".join(byte_char[b] for b in piece.encode("utf-8"))))
s = time.perf_counter() - t
print(json.dumps({"tokens": len(ids), "seconds": s}))
PY
)
/usr/bin/python3 - "$gpt2" "$ts" "$base" <<'PY'
import json, sys
g, t, b = (json.loads(x) for x in sys.argv[1:4])
mb = g["bytes"] / 1e6
print(f"text: {g['bytes']:,} bytes of English")
print(f"GPT-2 (byte-level, regex split):   {g['tokens']:,} tokens in {g['seconds']*1000:.0f} ms = {mb/g['seconds']:.1f} MB/s")
print(f"TinyStories (SentencePiece-style): {t['tokens']:,} tokens in {t['seconds']*1000:.0f} ms = {mb/t['seconds']:.1f} MB/s")
print(f"baseline, Python GPT-2 encoder:    {b['tokens']:,} tokens in {b['seconds']*1000:.0f} ms = {mb/b['seconds']:.1f} MB/s"
      f"  (same token count: {'yes' if b['tokens'] == g['tokens'] else 'NO'})")
print(f"ratio GPT-2 sonify / Python: {b['seconds']/g['seconds']:.1f}x faster")
PY
