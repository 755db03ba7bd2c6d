#!/usr/bin/python3
"""The hostile regression net (issue 20): generates several hundred malformed inputs
(safetensors headers, config.json fields, tokenizer.json, MIDI files, album lists, features
caches) from the fixtures and runs each through sonify.

A malformed input must end in exit code != 0, exactly one stderr line beginning
"sonify: error: ", no output file and no hidden partial file. A damaged features cache is
the exception: it is input to a cache, so the run must succeed, say "recomputed" and write
the same features as a clean run.

Usage: gen_cases.py SONIFY_BIN [--sample FRACTION] [--jobs N] [--list]
Exit 77 (skip) without SONIFY_FIXTURES. --sample keeps a deterministic fraction of the
cases (the ASan build runs a subset to stay within its time budget)."""
import argparse
import concurrent.futures
import copy
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

FIXTURES = os.environ.get("SONIFY_FIXTURES", "")
GPT2 = os.path.join(FIXTURES, "models", "tiny-gpt2-random")
LLAMA = os.path.join(FIXTURES, "models", "TinyStories-656K")

# --------------------------------------------------------------------------- helpers


def copy_model(src, dst):
    shutil.copytree(src, dst)
    for name in os.listdir(dst):
        os.chmod(os.path.join(dst, name), 0o644)
    return dst


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def split_safetensors(data):
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def join_safetensors(header, body, pad=b""):
    h = (header if isinstance(header, bytes) else json.dumps(header).encode()) + pad
    return struct.pack("<Q", len(h)) + h + body


def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi(tracks, fmt=1, division=96, ntracks=None):
    head = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks) if ntracks is None else ntracks, division)
    return head + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


NOTE = b"\x00\x90\x3c\x40\x60\x80\x3c\x40"
END = b"\x00\xff\x2f\x00"

# --------------------------------------------------------------------------- cases
# A case is (category, name, build) where build(dir) writes the input into dir and returns
# (args, output paths that must not exist afterwards). "{D}" in args is dir.


def checkpoint_cases():
    base = read(os.path.join(GPT2, "model.safetensors"))
    header, body = split_safetensors(base)
    names = [k for k in header if k != "__metadata__"]
    picked = [names[0], names[1], names[len(names) // 2], names[-2], names[-1]]

    def with_file(data):
        def build(d):
            m = copy_model(GPT2, os.path.join(d, "m"))
            write(os.path.join(m, "model.safetensors"), data)
            return ["analyze", "--no-cache", "--model", m, "-o", os.path.join(d, "f.json")], ["f.json"]
        return build

    cases = []
    raw = {
        "empty file": b"",
        "3 bytes": b"\x10\x00\x00",
        "7 bytes": struct.pack("<Q", 2)[:7],
        "header length 0": struct.pack("<Q", 0),
        "header length 0 with body": struct.pack("<Q", 0) + body,
        "header length past the end": struct.pack("<Q", len(base)) + base[8:],
        "header length 2^63": struct.pack("<Q", 1 << 63) + base[8:],
        "header length 2^64-1": struct.pack("<Q", (1 << 64) - 1) + base[8:],
        "header length 200 MB": struct.pack("<Q", 200 << 20) + base[8:],
        "header one byte short": struct.pack("<Q", len(json.dumps(header)) - 1) + json.dumps(header).encode() + body,
        "header not JSON": join_safetensors(b"not json at all", body),
        "header invalid UTF-8": join_safetensors(b'{"\xff\xfe": 1}', body),
        "header a JSON array": join_safetensors(b"[1, 2, 3]", body),
        "header a JSON string": join_safetensors(b'"model"', body),
        "header a JSON number": join_safetensors(b"42", body),
        "header JSON null": join_safetensors(b"null", body),
        "header empty object with body": join_safetensors(b"{}", body),
        "header truncated JSON": join_safetensors(json.dumps(header).encode()[:-7], body),
        "header with trailing garbage": join_safetensors(json.dumps(header).encode() + b"xyz", body),
        "header padded with NUL": join_safetensors(header, body, b"\0" * 8),
        "header with a NUL inside": join_safetensors(json.dumps(header).encode().replace(b'"', b'"\0', 1), body),
        "no body": join_safetensors(header, b""),
        "body one byte short": join_safetensors(header, body[:-1]),
        "body four bytes long": join_safetensors(header, body + b"\0\0\0\0"),
        "deeply nested header": join_safetensors(b"[" * 5000 + b"]" * 5000, body),
        "metadata not an object": join_safetensors(dict(header, __metadata__=[1]), body),
        "metadata value a number": join_safetensors(dict(header, __metadata__={"format": 1}), body),
    }
    for cut in (9, 100, len(json.dumps(header)) // 2, len(json.dumps(header)) + 8, len(base) // 2, len(base) - 1):
        raw["truncated at byte %d" % cut] = base[:cut]
    for name, data in raw.items():
        cases.append(("safetensors", name, with_file(data)))

    def mutate(tensor, edit):
        h = copy.deepcopy(header)
        edit(h[tensor])
        return join_safetensors(h, body)

    def drop(key):
        return lambda t: t.pop(key)

    def put(key, value):
        return lambda t: t.__setitem__(key, value)

    for tensor in picked:
        t = header[tensor]
        b, e = t["data_offsets"]
        edits = {
            "dtype unknown": put("dtype", "F33"),
            "dtype empty": put("dtype", ""),
            "dtype a number": put("dtype", 5),
            "dtype null": put("dtype", None),
            "dtype missing": drop("dtype"),
            "dtype F16 for F32 bytes": put("dtype", "F16"),
            "dtype F64 for F32 bytes": put("dtype", "F64"),
            "shape missing": drop("shape"),
            "shape negative": put("shape", [-1] + t["shape"][1:]),
            "shape a string": put("shape", "64,192"),
            "shape of floats": put("shape", [float(x) for x in t["shape"]]),
            "shape one too many": put("shape", t["shape"] + [2]),
            "shape overflowing 64 bits": put("shape", [1 << 40, 1 << 40]),
            "shape zero": put("shape", [0] + t["shape"][1:]),
            "offsets missing": drop("data_offsets"),
            "offsets reversed": put("data_offsets", [e, b]),
            "offsets past the body": put("data_offsets", [b, len(body) + 4]),
            "offsets huge": put("data_offsets", [b, 1 << 62]),
            "offsets shifted": put("data_offsets", [b + 4, e + 4]),
            "offsets three numbers": put("data_offsets", [b, e, e]),
            "offsets strings": put("data_offsets", [str(b), str(e)]),
            "offsets negative": put("data_offsets", [-4, e]),
            "tensor an array": lambda t: (t.clear(),),
        }
        for what, edit in edits.items():
            if what == "tensor an array":
                h = copy.deepcopy(header)
                h[tensor] = [1, 2]
                data = join_safetensors(h, body)
            else:
                data = mutate(tensor, edit)
            cases.append(("safetensors", "%s: %s" % (tensor, what), with_file(data)))
        h = copy.deepcopy(header)
        del h[tensor]
        cases.append(("safetensors", "%s: removed" % tensor, with_file(join_safetensors(h, body))))
        h = copy.deepcopy(header)
        h[tensor + ".extra"] = dict(t)
        cases.append(("safetensors", "%s: aliased by a second tensor" % tensor, with_file(join_safetensors(h, body))))
    return cases


CONFIG_VALUES = {
    "negative": -1,
    "zero": 0,
    "2^31": 1 << 31,
    "2^63": (1 << 63) - 1,
    "a string": "12",
    "null": None,
    "a fraction": 1.5,
    "an array": [4],
    "an object": {"n": 4},
    "true": True,
}
GPT2_INT_FIELDS = ["vocab_size", "n_positions", "n_embd", "n_layer", "n_head"]
LLAMA_INT_FIELDS = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                    "num_attention_heads", "num_key_value_heads", "max_position_embeddings"]


def config_cases():
    cases = []

    def edited(src, edit):
        def build(d):
            m = copy_model(src, os.path.join(d, "m"))
            path = os.path.join(m, "config.json")
            text = edit(read(path).decode())
            write(path, text)
            return ["analyze", "--no-cache", "--model", m, "-o", os.path.join(d, "f.json")], ["f.json"]
        return build

    def set_field(field, value):
        def edit(text):
            j = json.loads(text)
            j[field] = value
            return json.dumps(j)
        return edit

    def del_field(field):
        def edit(text):
            j = json.loads(text)
            j.pop(field, None)
            return json.dumps(j)
        return edit

    for src, fields in ((GPT2, GPT2_INT_FIELDS), (LLAMA, LLAMA_INT_FIELDS)):
        model = os.path.basename(src)
        for field in fields:
            for what, value in CONFIG_VALUES.items():
                if value is None and field in ("num_key_value_heads", "n_positions"):
                    continue  # null means "as many as the heads" / "n_ctx": valid
                cases.append(("config", "%s %s %s" % (model, field, what), edited(src, set_field(field, value))))
            if field not in ("n_positions", "max_position_embeddings"):  # the context is free
                cases.append(("config", "%s %s off by one" % (model, field),
                              edited(src, lambda t, f=field: json.dumps(dict(json.loads(t), **{f: json.loads(t)[f] + 1})))))
        for field in ("model_type",):
            for what, value in (("unknown", "gpt5"), ("a number", 2), ("null", None), ("empty", "")):
                cases.append(("config", "%s %s %s" % (model, field, what), edited(src, set_field(field, value))))
            cases.append(("config", "%s %s missing" % (model, field), edited(src, del_field(field))))
    for what, text in (("empty", ""), ("not JSON", "vocab_size = 12"), ("an array", "[1]"), ("null", "null"),
                       ("truncated", None), ("invalid UTF-8", "{\"model_type\": \"gpt2\xff\"}"),
                       ("nested 10000 deep", "[" * 10000 + "]" * 10000)):
        def edit(t, text=text):
            return t[: len(t) // 2] if text is None else text
        cases.append(("config", "gpt2 config " + what, edited(GPT2, edit)))
    llama = os.path.basename(LLAMA)
    cases.append(("config", llama + " hidden_size not a multiple of the heads",
                  edited(LLAMA, set_field("hidden_size", 65))))
    cases.append(("config", llama + " kv heads not dividing the heads",
                  edited(LLAMA, set_field("num_key_value_heads", 3))))
    cases.append(("config", llama + " rope_theta negative", edited(LLAMA, set_field("rope_theta", -1.0))))
    cases.append(("config", llama + " rope_theta a string", edited(LLAMA, set_field("rope_theta", "big"))))
    cases.append(("config", llama + " rms_norm_eps a string", edited(LLAMA, set_field("rms_norm_eps", "tiny"))))
    cases.append(("config", llama + " rope_scaling not an object", edited(LLAMA, set_field("rope_scaling", 3))))
    return cases


def tokenizer_cases():
    base_text = read(os.path.join(LLAMA, "tokenizer.json")).decode()
    base = json.loads(base_text)
    cases = []

    def with_tokenizer(data):
        def build(d):
            path = os.path.join(d, "tokenizer.json")
            write(path, data if isinstance(data, (bytes, str)) else json.dumps(data))
            return ["tokenize", "--tokenizer", path, "Once upon a time, a cat."], []
        return build

    raw = {
        "empty": "",
        "not JSON": "tokenizer",
        "an array": "[]",
        "null": "null",
        "invalid UTF-8": b'{"model": {"type": "BPE\xff"}}',
        "nested 10000 deep": "[" * 10000 + "]" * 10000,
    }
    for frac in (0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
        raw["truncated at %d%%" % (frac * 100)] = base_text[: int(len(base_text) * frac)]
    for name, data in raw.items():
        cases.append(("tokenizer", name, with_tokenizer(data)))

    def edit(fn):
        j = copy.deepcopy(base)
        fn(j)
        return j

    vocab = base["model"]["vocab"]
    first_piece = next(iter(vocab))
    edits = {
        "model missing": lambda j: j.pop("model"),
        "model null": lambda j: j.__setitem__("model", None),
        "model type unknown": lambda j: j["model"].__setitem__("type", "Sparkle"),
        "model type a number": lambda j: j["model"].__setitem__("type", 3),
        "vocab missing": lambda j: j["model"].pop("vocab"),
        "vocab a list": lambda j: j["model"].__setitem__("vocab", list(vocab)),
        "vocab empty": lambda j: j["model"].__setitem__("vocab", {}),
        "vocab id negative": lambda j: j["model"]["vocab"].__setitem__(first_piece, -1),
        "vocab id 2^40": lambda j: j["model"]["vocab"].__setitem__(first_piece, 1 << 40),
        "vocab id 2^31": lambda j: j["model"]["vocab"].__setitem__(first_piece, 1 << 31),
        "vocab id a string": lambda j: j["model"]["vocab"].__setitem__(first_piece, "3"),
        "vocab id a fraction": lambda j: j["model"]["vocab"].__setitem__(first_piece, 2.5),
        "merges missing": lambda j: j["model"].pop("merges"),
        "merges not a list": lambda j: j["model"].__setitem__("merges", "a b"),
        "merge of one piece": lambda j: j["model"]["merges"].__setitem__(0, "abc"),
        "merge of three pieces": lambda j: j["model"]["merges"].__setitem__(0, "a b c"),
        "merge a number": lambda j: j["model"]["merges"].__setitem__(0, 7),
        "merge of unknown pieces": lambda j: j["model"]["merges"].__setitem__(0, "\u2603\u2603 \u2604\u2604"),
        "added token id 2^31": lambda j: j["added_tokens"][0].__setitem__("id", 1 << 31),
        "added token id negative": lambda j: j["added_tokens"][0].__setitem__("id", -5),
        "added token content missing": lambda j: j["added_tokens"][0].pop("content"),
        "added token content a number": lambda j: j["added_tokens"][0].__setitem__("content", 5),
        "added tokens not a list": lambda j: j.__setitem__("added_tokens", {"a": 1}),
        "pre_tokenizer type unknown": lambda j: j.__setitem__("pre_tokenizer", {"type": "Sparkle"}),
        "pre_tokenizer a string": lambda j: j.__setitem__("pre_tokenizer", "ByteLevel"),
        "normalizer type unknown": lambda j: j.__setitem__("normalizer", {"type": "Sparkle"}),
        "decoder type unknown": lambda j: j.__setitem__("decoder", {"type": "Sparkle"}),
        "post_processor type unknown": lambda j: j.__setitem__("post_processor", {"type": "Sparkle"}),
    }
    for name, fn in edits.items():
        try:
            data = edit(fn)
        except (KeyError, IndexError, TypeError):
            continue  # the fixture lacks the field this edit needs
        cases.append(("tokenizer", name, with_tokenizer(data)))
    return cases


def midi_cases():
    good = midi([b"\x00\xff\x51\x03\x07\xa1\x20" + NOTE + END])
    cases = []

    def with_midi(data):
        def build(d):
            path = os.path.join(d, "in.mid")
            write(path, data)
            return ["render", path, "-o", os.path.join(d, "out.wav")], ["out.wav"]
        return build

    for cut in range(0, len(good) - 1):
        if cut == len(good) - 4:
            continue  # cuts only the end-of-track meta's length: still a complete note
        cases.append(("midi", "truncated to %d bytes" % cut, with_midi(good[:cut])))
    track = b"\x00\xff\x51\x03\x07\xa1\x20" + NOTE + END
    raw = {
        "magic MThx": b"MThx" + good[4:],
        "RIFF-wrapped": b"RIFF" + good,
        "header length 5": b"MThd" + struct.pack(">IHHH", 5, 1, 1, 96)[:-1] + good[14:],
        "header length 2^32-1": b"MThd\xff\xff\xff\xff" + good[8:],
        "format 3": midi([track], fmt=3),
        "format 0 with two tracks": midi([track, track], fmt=0),
        "two tracks announced, one present": midi([track], ntracks=2),
        "division 0": midi([track], division=0),
        "track chunk MTrx": good.replace(b"MTrk", b"MTrx"),
        "track length past the end": good[:18] + struct.pack(">I", 1 << 20) + good[22:],
        "track length 2^32-1": good[:18] + b"\xff\xff\xff\xff" + good[22:],
        "running status without a status": midi([b"\x00\x3c\x40" + END]),
        "meta length past the track": midi([b"\x00\xff\x01\x7f\x41" + END]),
        "meta length a 5-byte VLQ": midi([b"\x00\xff\x01\x8f\xff\xff\xff\x7f" + END]),
        "sysex length past the track": midi([b"\x00\xf0\x7f\x01" + END]),
        "delta a 5-byte VLQ": midi([b"\x8f\xff\xff\xff\x7f\x90\x3c\x40" + END]),
        "tempo meta of 2 bytes": midi([b"\x00\xff\x51\x02\x07\xa1" + NOTE + END]),
        "note cut after its status": midi([b"\x00\x90"]),
        "note cut after its key": midi([b"\x00\x90\x3c"]),
        "status 0xF4 (undefined)": midi([b"\x00\xf4" + END]),
        "hours of silence at tempo 0xFFFFFF": midi([b"\x00\xff\x51\x03\xff\xff\xff\xff\xff\xff\x7f\x90\x3c\x40"
                                                    b"\x01\x80\x3c\x40" + END], fmt=0, division=1),
        "not MIDI at all": b"This is a text file, not a MIDI file.\n",
        "a WAV file": b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 28,
        "PPQ 30000 and 64 maximal deltas": midi([b"\xff\xff\xff\x7f\x90\x3c\x40" * 64 + END], division=30000),
    }
    for name, data in raw.items():
        cases.append(("midi", name, with_midi(data)))
    return cases


def album_cases():
    cases = []

    def with_list(data, kind="file"):
        def build(d):
            path = os.path.join(d, "list.txt")
            if kind == "dir":
                os.mkdir(path)
            elif kind == "file":
                write(path, data)
            return ["album", path, "--model", LLAMA, "--midi-only", "-o", os.path.join(d, "out")], ["out/*"]
        return build

    raw = {
        "empty": b"",
        "blank lines only": b"\n\n   \n\t\n",
        "comments only": b"# one\n  # two\n",
        "CRLF blank lines": b"\r\n\r\n",
        "a NUL byte only": b"\0",
        "UTF-16 text": "hello\n".encode("utf-16"),
        "invalid UTF-8 only": b"\xff\xfe\xfd\n",
        "JSON line without prompt": b'{"title": "x"}\n',
        "JSON line with a numeric prompt": b'{"prompt": 5}\n',
        "JSON line with an empty prompt": b'{"prompt": ""}\n',
        "JSON line not an object": b'{"prompt": "a"\n',
        "a 2 MB line": b"a" * (2 << 20) + b"\n",
    }
    for name, data in raw.items():
        cases.append(("album", name, with_list(data)))
    cases.append(("album", "a directory as list", with_list(None, "dir")))
    cases.append(("album", "a missing list", with_list(None, "missing")))
    return cases


def features_cases():
    cases = []
    edits = {
        "n_layers 50": lambda j: j.__setitem__("n_layers", 50),
        "n_layers negative": lambda j: j.__setitem__("n_layers", -1),
        "tonality root 99": lambda j: j["tonality"].__setitem__("root", 99),
        "tonality root a string": lambda j: j["tonality"].__setitem__("root", "C"),
        "row_norms emptied": lambda j: j["matrices"][0].__setitem__("row_norms", []),
        "row_norms NaN-like string": lambda j: j["matrices"][0].__setitem__("row_norms", ["nan"]),
        "matrices emptied": lambda j: j.__setitem__("matrices", []),
        "matrices an object": lambda j: j.__setitem__("matrices", {}),
        "transition to layer 7": lambda j: j["transitions"][0].__setitem__("to_layer", 7),
        "transitions missing": lambda j: j.pop("transitions"),
        "a matrix's layer 1000": lambda j: j["matrices"][0].__setitem__("layer", 1000),
    }
    raw = {"empty": "", "truncated": None, "not JSON": "features", "an array": "[]", "null": "null"}
    for name, fn in list(edits.items()) + [(k, v) for k, v in raw.items()]:
        cases.append(("features", name, ("features", fn)))
    return cases


# --------------------------------------------------------------------------- running


def run(bin_path, args, env=None, timeout=60):
    start = time.monotonic()
    try:
        p = subprocess.run([bin_path] + args, capture_output=True, timeout=timeout, env=env)
        return p.returncode, p.stderr.decode(errors="replace"), time.monotonic() - start
    except subprocess.TimeoutExpired:
        return None, "timeout", timeout


def leftovers(d):
    found = []
    for root, _, files in os.walk(d):
        found += [os.path.join(root, f) for f in files if ".tmp-" in f or ".partial-" in f]
    return found


def check_error_case(bin_path, case):
    category, name, build = case
    with tempfile.TemporaryDirectory(prefix="sonify-net-") as d:
        args, outputs = build(d)
        code, err, _ = run(bin_path, args)
        problems = []
        if code is None:
            problems.append("hung (killed after 60 s)")
        elif code == 0:
            problems.append("exit 0")
        elif code < 0:
            problems.append("died of signal %d" % -code)
        lines = err.splitlines()
        if code is not None and (len(lines) != 1 or not lines[0].startswith("sonify: error: ")):
            problems.append("stderr is not one error line")
        for out in outputs:
            # "DIR/*": DIR may be left (-o creates it), but empty; an album's manifest.json
            # stays by design, recording which prompts failed (the error line points to it).
            path = os.path.join(d, out.rstrip("/*"))
            left = sorted(set(os.listdir(path)) - {"manifest.json"}) if os.path.isdir(path) else []
            if out.endswith("/*") and left:
                problems.append("left %s in %s" % (", ".join(left), out[:-2]))
            elif not out.endswith("/*") and os.path.exists(path):
                problems.append("left " + out)
        problems += ["left " + os.path.relpath(p, d) for p in leftovers(d)]
        return category, name, problems, err.strip()[:400]


def features_reference(bin_path, work):
    model = copy_model(GPT2, os.path.join(work, "m"))
    cache = os.path.join(work, "cache")
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    code, err, _ = run(bin_path, ["analyze", "--model", model, "-o", os.path.join(work, "ref.json")], env)
    if code != 0:
        sys.exit("features reference run failed: " + err)
    entries = os.listdir(os.path.join(cache, "sonify"))
    return model, os.path.join(cache, "sonify", entries[0]), read(os.path.join(work, "ref.json"))


def check_features_case(bin_path, case, reference):
    category, name, (_, fn) = case
    model, entry, ref = reference
    with tempfile.TemporaryDirectory(prefix="sonify-net-") as d:
        cache_dir = os.path.join(d, "cache", "sonify")
        os.makedirs(cache_dir)
        mine = os.path.join(cache_dir, os.path.basename(entry))
        text = read(entry).decode()
        if callable(fn):
            j = json.loads(text)
            fn(j)
            text = json.dumps(j)
        else:
            text = text[: len(text) // 2] if fn is None else fn
        write(mine, text)
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(d, "cache"))
        code, err, _ = run(bin_path, ["analyze", "--model", model, "-o", os.path.join(d, "f.json")], env)
        problems = []
        if code != 0:
            problems.append("exit %s" % code)
        elif read(os.path.join(d, "f.json")) != ref:
            problems.append("features differ from a clean run")
        if "recomputed" not in err:
            problems.append("no 'recomputed' note")
        problems += ["left " + os.path.relpath(p, d) for p in leftovers(d)]
        return category, name, problems, err.strip()[:400]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sonify")
    ap.add_argument("--sample", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if not FIXTURES or not os.path.isdir(GPT2):
        print("SONIFY_FIXTURES not set: skipping")
        return 77
    cases = checkpoint_cases() + config_cases() + tokenizer_cases() + midi_cases() + album_cases()
    features = features_cases()
    if a.sample < 1.0:  # deterministic: by a hash of the name, so a case stays in or out
        keep = lambda c: int(hashlib.sha256((c[0] + c[1]).encode()).hexdigest()[:8], 16) / 2**32 < a.sample
        cases = [c for c in cases if keep(c)]
        features = [c for c in features if keep(c)]
    if a.list:
        for c in cases + features:
            print("%s: %s" % (c[0], c[1]))
        return 0
    start = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="sonify-net-ref-") as work:
        reference = features_reference(a.sonify, work) if features else None
        with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
            futures = [pool.submit(check_error_case, a.sonify, c) for c in cases]
            futures += [pool.submit(check_features_case, a.sonify, c, reference) for c in features]
            results = [f.result() for f in futures]
    failed = [r for r in results if r[2]]
    by_category = {}
    for category, _, problems, _ in results:
        total, bad = by_category.get(category, (0, 0))
        by_category[category] = (total + 1, bad + (1 if problems else 0))
    for category, name, problems, err in failed:
        print("FAIL %s: %s: %s\n     stderr: %s" % (category, name, "; ".join(problems), err.replace("\n", " | ")))
    print("%d cases (%s), %d failed, %.1f s" % (
        len(results), ", ".join("%s %d" % (k, v[0]) for k, v in by_category.items()), len(failed),
        time.monotonic() - start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
