#!/usr/bin/env bash
# Issue 19: the job files in deploy/. The Slurm array script runs with the array
# variables set by hand (no Slurm needed) and its shards merge into the bytes of one run;
# the Kubernetes Jobs parse as YAML with the fields an Indexed Job needs; the Containerfile
# is checked for syntax (built only where podman works); every shell file parses.
# Usage: tests/batch/deploy_check.sh SONIFY_BIN
set -euo pipefail
SONIFY=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
D=$ROOT/deploy
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME=$T/cache
fail() { echo "FAIL: $*" >&2; exit 1; }
for f in "$D/slurm/album.sbatch" "$D/slurm/submit.sh" "$D/parallel.sh"; do bash -n "$f" || fail "$f"; done

printf '%s\n' "The cat sat." "A dog ran far." "The sun is warm." "Rain fell." >"$T/list.txt"
args="--model $ROOT/data/models/sonify-tiny --pca-sentences 64 --midi-only"
"$SONIFY" album "$T/list.txt" $args -o "$T/single" >/dev/null 2>&1
if env -u SLURM_ARRAY_TASK_ID SONIFY_LIST="$T/list.txt" SONIFY_OUT="$T/a" bash "$D/slurm/album.sbatch" 2>"$T/err"; then
  fail "album.sbatch ran outside an array task"
fi
grep -q "not an array task" "$T/err" || fail "$(cat "$T/err")"
for k in 0 1 2; do
  SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=1 SONIFY=$SONIFY SONIFY_LIST="$T/list.txt" \
    SONIFY_OUT="$T/a" SONIFY_CACHE="$T/cache" SONIFY_ARGS="$args" bash "$D/slurm/album.sbatch" >/dev/null 2>"$T/s$k.err" ||
    fail "task $k: $(cat "$T/s$k.err")"
  grep -q '^{"done":' "$T/s$k.err" || fail "task $k printed no JSON progress"
done
[ -f "$T/a/shard-2-of-3.json" ] || fail "no shard-2-of-3.json"
"$SONIFY" album merge "$T/a" >/dev/null
cmp "$T/single/album.mid" "$T/a/album.mid" || fail "Slurm shards differ from one run"
cmp "$T/single/manifest.json" "$T/a/manifest.json" || fail "Slurm manifest differs from one run"

/usr/bin/python3 - "$D/k8s" <<'PY'
import sys, yaml
d = sys.argv[1]
job = yaml.safe_load(open(f"{d}/album-job.yaml"))
assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job", job
spec = job["spec"]
assert spec["completionMode"] == "Indexed"
pod = spec["template"]["spec"]
assert pod["restartPolicy"] in ("Never", "OnFailure")
c = pod["containers"][0]
env = {e["name"]: e for e in c["env"]}
assert int(env["SONIFY_SHARDS"]["value"]) == spec["completions"], "SONIFY_SHARDS must equal completions"
assert 1 <= spec["parallelism"] <= spec["completions"]
assert env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == \
    "metadata.annotations['batch.kubernetes.io/job-completion-index']"
args = c["args"]
assert args[0] == "album" and args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/$(SONIFY_SHARDS)"
out = args[args.index("-o") + 1]
mounts = [m["mountPath"] for m in c["volumeMounts"]]
assert any(out.startswith(m + "/") for m in mounts), (out, mounts)
assert {v["name"] for v in pod["volumes"]} >= {m["name"] for m in c["volumeMounts"]}
for name, verb in (("album-prepare.yaml", "prepare"), ("album-merge.yaml", "merge")):
    j = yaml.safe_load(open(f"{d}/{name}"))
    a = j["spec"]["template"]["spec"]["containers"][0]["args"]
    assert j["kind"] == "Job" and a[:2] == ["album", verb], (name, a)
    assert out in a, (name, a, out)
print("k8s: ok")
PY

/usr/bin/python3 - "$D/Containerfile" "$ROOT" <<'PY'
import json, os, sys
path, root = sys.argv[1], sys.argv[2]
known = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
         "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
instructions, current = [], ""
for line in open(path).read().splitlines():
    if not current and (not line.strip() or line.lstrip().startswith("#")):
        continue
    current += line.rstrip("\\") + " "
    if not line.endswith("\\"):
        instructions.append(current.strip())
        current = ""
assert not current, "a continuation line runs off the end"
words = [i.split(None, 1) for i in instructions]
assert all(w[0] in known for w in words), [w[0] for w in words if w[0] not in known]
assert words[0] == ["FROM", "debian:12"], words[0]
for keyword, rest in words:
    if keyword in ("SHELL", "ENTRYPOINT", "CMD") and rest.startswith("["):
        json.loads(rest)
    if keyword == "COPY" and not rest.startswith(". "):
        assert os.path.exists(os.path.join(root, rest.split()[0])), rest
assert any("SONIFY_PACKAGES" in (r or "") for _, r in words), "the setup script's packages"
print("Containerfile: ok")
PY
if command -v podman >/dev/null && podman info >/dev/null 2>&1 && [ -n "${SONIFY_BUILD_IMAGE:-}" ]; then
  podman build -f "$D/Containerfile" -t sonify-test "$ROOT"
fi
echo "ok: Slurm array (3 tasks by hand) merged byte-identical; k8s Indexed Job fields; Containerfile syntax"
