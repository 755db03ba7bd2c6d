#!/usr/bin/python3
"""Enforces the layer table of doc/architecture.md by reading every #include.

For each folder of src/ (a layer) and for tools/sonify, every quoted include must name a
header of the same layer or of a layer it may depend on; the heavy libraries (libtorch,
Eigen, FluidSynth, cairo, CLI11) may appear only where the table allows; public headers
(include/sonify) include no heavy library; and the command line stays thin: no cmd_*.cpp
over CMD_MAX_LINES lines, tools/sonify under TOOLS_MAX_LINES in all, and no header of a
library's internals.

Usage: check_layers.py [ROOT]   (exit 1 and one line per violation when the tree breaks it)
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[1])

# layer -> the layers it may include (besides itself). Keep in step with doc/architecture.md.
DEPENDS = {
    "core": set(),
    "model": {"core"},
    "tokenizer": {"core"},
    "runtime": {"model", "core"},
    "train": {"runtime", "core"},
    "music": {"core"},
    "render": {"music", "core"},
    "analysis": {"model", "music", "core"},
    "genres": {"analysis", "music", "core"},
    "activation": {"analysis", "music", "runtime", "tokenizer", "model", "core"},
    "report": {"analysis", "music", "model", "core"},
    "synth": {"analysis", "render", "core"},
    "pipeline": {"activation", "genres", "analysis", "render", "music", "runtime", "train",
                 "tokenizer", "model", "core", "report", "synth"},
    "tools": {"pipeline", "activation", "genres", "analysis", "render", "music", "runtime", "train",
              "tokenizer", "model", "core", "report", "synth"},
}

# Public header (include/sonify/NAME) -> the layer that implements it.
PUBLIC = {
    "result.h": "core", "utf8.h": "core", "system_probe.h": "core",
    "checkpoint.h": "model", "checkpoint_write.h": "model", "dtype.h": "model", "model.h": "model",
    "hf_cache.h": "model",
    "tokenizer.h": "tokenizer", "bpe_train.h": "tokenizer",
    "runtime.h": "runtime", "torch_info.h": "runtime",
    "train.h": "train",
    "midi.h": "music", "midi_tokens.h": "music", "scale.h": "music", "score.h": "music",
    "render.h": "render", "soundfont.h": "render",
    "analysis.h": "analysis", "features.h": "analysis", "activation_stats.h": "analysis",
    "genres.h": "genres", "compare.h": "analysis",
    "activation.h": "activation",
    "report.h": "report", "synth.h": "synth",
}
# Public headers whose name starts with one of these belong to that layer.
PUBLIC_PREFIX = {"pipeline": "pipeline", "report": "report", "inspect": "pipeline"}

# Heavy libraries: include prefix -> the files (layer, or layer/file) allowed to use it.
HEAVY = {
    "torch/": {"runtime/runtime_torch.cpp", "runtime/torch_info.cpp", "runtime/torch_threads.h",
               "train/torch_train.cpp"},
    "ATen/": {"runtime/runtime_torch.cpp", "runtime/torch_info.cpp", "runtime/torch_threads.h",
              "train/torch_train.cpp"},
    "Eigen/": {"analysis"},
    "fluidsynth": {"render"},
    "cairo": {"report"},
    "fftw3": {"synth"},
    "CLI/": {"tools"},
}

CMD_MAX_LINES = 120
# Issue 12 left 13 commands (cmd_*.cpp) in about 1,200 lines; each command added since
# may bring at most one command's worth of lines.
TOOLS_BASE_COMMANDS = 13
TOOLS_MAX_LINES = 1250

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
problems = []


def layer_of_quoted(path_in_include, including_layer):
    """The layer of a quoted include, or None when it is local to the including folder."""
    if path_in_include.startswith("sonify/"):
        name = path_in_include[len("sonify/"):]
        if name in PUBLIC:
            return PUBLIC[name]
        for prefix, layer in PUBLIC_PREFIX.items():
            if name.startswith(prefix):
                return layer
        return "unknown public header " + name
    first = path_in_include.split("/")[0]
    if first in DEPENDS and "/" in path_in_include:
        return first
    return None  # a header of the same folder


def check_file(path, layer, rel):
    text = path.read_text(encoding="utf-8", errors="replace")
    for kind, inc in INCLUDE.findall(text):
        for prefix, allowed in HEAVY.items():
            if inc.startswith(prefix):
                if layer not in allowed and rel not in allowed:
                    problems.append(f"{path.relative_to(ROOT)}: includes <{inc}>, allowed only in {sorted(allowed)}")
        if kind != '"':
            continue
        target = layer_of_quoted(inc, layer)
        if target is None or target == layer:
            continue
        if target.startswith("unknown"):
            problems.append(f"{path.relative_to(ROOT)}: {target} (add it to tests/check_layers.py and doc/architecture.md)")
        elif target not in DEPENDS[layer]:
            problems.append(f"{path.relative_to(ROOT)}: layer {layer} includes \"{inc}\" of layer {target}")
        if layer == "tools" and not inc.startswith("sonify/") and target != "core":
            problems.append(f"{path.relative_to(ROOT)}: the command line includes the internal header \"{inc}\"")


def main():
    for folder in sorted((ROOT / "src").iterdir()):
        if not folder.is_dir():
            continue
        if folder.name not in DEPENDS:
            problems.append(f"src/{folder.name}: a folder the layer table does not know")
            continue
        for f in sorted(folder.rglob("*")):
            if f.suffix in (".cpp", ".h"):
                check_file(f, folder.name, f"{folder.name}/{f.name}")
    for f in sorted((ROOT / "include" / "sonify").glob("*.h")):
        text = f.read_text(encoding="utf-8")
        for _, inc in INCLUDE.findall(text):
            if any(inc.startswith(p) for p in HEAVY):
                problems.append(f"{f.relative_to(ROOT)}: a public header includes <{inc}>")
        name = f.name
        if name not in PUBLIC and not any(name.startswith(p) for p in PUBLIC_PREFIX):
            problems.append(f"{f.relative_to(ROOT)}: not in the layer table of tests/check_layers.py")
    tools = ROOT / "tools" / "sonify"
    total = 0
    for f in sorted(tools.glob("*")):
        if f.suffix not in (".cpp", ".h"):
            continue
        check_file(f, "tools", f"tools/{f.name}")
        n = len(f.read_text(encoding="utf-8").splitlines())
        total += n
        if f.name.startswith("cmd_") and n > CMD_MAX_LINES:
            problems.append(f"{f.relative_to(ROOT)}: {n} lines; a command parses options, calls one library "
                            f"function and prints (at most {CMD_MAX_LINES} lines)")
    n_commands = len(list(tools.glob("cmd_*.cpp")))
    budget = TOOLS_MAX_LINES + CMD_MAX_LINES * max(0, n_commands - TOOLS_BASE_COMMANDS)
    if total > budget:
        problems.append(f"tools/sonify: {total} lines in all, more than {budget}: pipeline logic belongs in src/pipeline")
    for p in problems:
        print("check_layers:", p)
    if problems:
        sys.exit(1)
    print(f"check_layers: ok ({total} lines in tools/sonify)")


main()
