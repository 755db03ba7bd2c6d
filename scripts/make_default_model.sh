#!/usr/bin/env bash
# Rebuilds the bundled default model data/models/sonify-tiny: `sonify train` on the
# reference corpus with a fixed seed, then writes MODEL_CARD.md from the run's
# training.json and a greedy sample. Takes ~15 minutes on two cores.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/common.sh"
if [ "${1:-}" != "--card-only" ]; then
  ensure_packages "${SONIFY_PACKAGES[@]}"
  build_preset release
fi
SONIFY="$ROOT/build/release/tools/sonify/sonify"
OUT="$ROOT/data/models/sonify-tiny"

# --card-only rewrites MODEL_CARD.md from the existing training.json without training.
if [ "${1:-}" != "--card-only" ]; then
  "$SONIFY" train --corpus "$ROOT/data/corpus/sentences.txt" --out "$OUT" --force \
    --arch gpt2 --layers 4 --dim 192 --heads 6 --context 128 --vocab-size 1024 \
    --steps 1200 --batch 16 --lr 0.002 --seed 0 --threads 2
fi

SAMPLE_PROMPT="The old sailor"
SAMPLE=$("$SONIFY" generate --model "$OUT" "$SAMPLE_PROMPT" --max-tokens 60 2>/dev/null)
SAMPLE2=$("$SONIFY" generate --model "$OUT" "Tomorrow the painter will" --max-tokens 60 2>/dev/null)

/usr/bin/python3 - "$OUT" "$SAMPLE" "$SAMPLE2" <<'PY'
import json, os, sys
out, sample, sample2 = sys.argv[1], sys.argv[2], sys.argv[3]
t = json.load(open(os.path.join(out, "training.json")))
c = t["config"]
hist = t["history"]
size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
best = min(hist, key=lambda h: h["val_loss"])
warmup = c["warmup"] if c["warmup"] > 0 else max(1, c["steps"] // 20)
rows = "\n".join(f"| {h['step']} | {h['train_loss']:.4f} | {h['val_loss']:.4f} | {h['lr']:.2e} |" for h in hist)
cmd = t["command"].replace(os.path.dirname(os.path.dirname(os.path.dirname(out))) + "/", "")
card = f"""# sonify-tiny

The model sonify uses when no `--model` is given: a {t['parameters']:,}-parameter GPT-2
({c['layers']} layers, width {c['dim']}, {c['heads']} heads, context {c['context']}, byte-level BPE vocabulary of
{t['tokenizer']['vocab_size']}) trained by `sonify train` on `data/corpus/sentences.txt`, the
project's own reference corpus of generated English sentences. Rebuild it with
`scripts/make_default_model.sh`. Files: {size / 1e6:.1f} MB in all.

## Training run

- Command: `{cmd}`
- Steps: {t['steps_done']} of {c['steps']} (batch {c['batch']} x {c['context']} tokens), AdamW
  (betas 0.9/0.95, weight decay {c['weight_decay']} on matrices), peak lr {c['lr']}, warm-up {warmup}
  steps then cosine to {c['min_lr_ratio']} x, gradient clipping at {c['grad_clip']}, seed {c['seed']}.
- Data: {t['documents']['train']} training and {t['documents']['validation']} validation sentences (every
  tenth held out); {t['tokens']['train']:,} and {t['tokens']['validation']:,} tokens.
- Wall time: {t['seconds']:.0f} s on {t['threads']} threads ({t['blas']} BLAS), {t['tokens_per_second']:.0f} tokens/s.
- Final training loss {t['final_train_loss']:.4f}, validation loss **{t['final_val_loss']:.4f}** nats/token.
  Unigram baseline on the same validation tokens: **{t['unigram_val_loss']:.4f}** nats/token.
- The validation loss flattened: its minimum, {best['val_loss']:.4f}, came at step {best['step']}; after that
  the training loss kept falling while the validation loss moved by
  {t['final_val_loss'] - best['val_loss']:+.4f} (a 2 M-parameter model sees the 160 k training tokens
  {c['steps'] * c['batch'] * c['context'] / max(1, t['tokens']['train']):.0f} times). The model is kept as trained.
- Reproducible: the same command with the same seed and thread count gives
  byte-identical weights on the same machine (other CPUs may round differently).

| step | train loss | validation loss | lr |
|---:|---:|---:|---:|
{rows}

## Samples (greedy, `sonify generate --max-tokens 60`)

> {sample.strip()}

> {sample2.strip()}

## Limits

A toy: it knows the corpus's ~1,700 words and its sentence shapes, nothing else. It is
here so every command works out of the box and so its weights and activations have
real, learned structure to listen to.
"""
open(os.path.join(out, "MODEL_CARD.md"), "w").write(card)
PY
echo "$OUT"
