#!/usr/bin/python3
"""fake_stage.py — a stand-in stage program for the workflow engine's tests.

Reads the stage config that bmc-workflow writes (--config PATH), checks that it has exactly
the documented keys, and writes every output as a small text file (or, for names listed in
params.folders, a folder holding result.txt) whose content depends only on the inputs'
content and the params, so reruns are deterministic. Under mpiexec only rank 0 writes.
Params it understands: fail (true, or an instance name: exit with params.exit_code, default 3,
after printing lines and an `error:` line), skip_output (an output name not to write), slow
(seconds: write each output in place, in chunks, over that time — for the race test),
read_prefix (folder inputs: the files it reads are those under this prefix). Every output
ends with a `sha256 <digest of the lines before>` line, so a torn file is recognised. If
FAKE_STAGE_JOURNAL is set, each run appends a JSON line (instance, ranks, thread variables)
to that file. `--version` prints `fake_stage <FAKE_STAGE_VERSION or 1.0>` and, unless
FAKE_STAGE_NO_CHECK is set, `stage-protocol: check`. `--check` validates params against
PARAMS (unknown key: an `error: CONFIG:LINE:COL:` line at the key, the nearest key as hint),
declares `slow` and `batch` speed-only and lists the files it reads of folder inputs.
Not a real stage: no HDF5, no MPI calls.
"""
import difflib
import hashlib
import json
import os
import sys
import time

import yaml

CONFIG_KEYS = {"stage", "instance", "fingerprint", "inputs", "outputs", "params", "resources",
               "hash_cache"}
CHECK_KEYS = CONFIG_KEYS - {"fingerprint"}
PARAMS = {"seed", "noise", "label", "subject", "folders", "metric", "fail", "exit_code",
          "skip_output", "slow", "batch", "read_prefix", "subjects"}
SPEED_ONLY = ["batch", "slow"]
RESOURCE_KEYS = {"tasks", "cpus_per_task", "mem_mb", "runtime"}


def content_hash(path):
    """SHA-256 of a file, or of a folder's files (sorted relative names + contents)."""
    h = hashlib.sha256()
    if os.path.isdir(path):
        for root, _dirs, files in sorted(os.walk(path)):
            for name in sorted(files):
                full = os.path.join(root, name)
                h.update(os.path.relpath(full, path).encode())
                with open(full, "rb") as f:
                    h.update(f.read())
    else:
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def folder_reads(path, prefix):
    """Relative paths of the files under folder path that start with prefix, sorted."""
    out = []
    for root, _dirs, files in os.walk(path):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), path)
            if rel.startswith(prefix or ""):
                out.append(rel)
    return sorted(out)


def check(config_path):
    """--check: unknown params keys are an error at their position; else the report."""
    with open(config_path) as f:
        root = yaml.compose(f)
    cfg = yaml.safe_load(open(config_path))
    if set(cfg) != CHECK_KEYS:
        print("fake_stage: unexpected check config keys: %s" % sorted(cfg), file=sys.stderr)
        return 9
    params_node = next(v for k, v in root.value if k.value == "params")
    for key, _value in (params_node.value if isinstance(params_node, yaml.MappingNode) else []):
        if key.value not in PARAMS:
            near = difflib.get_close_matches(key.value, sorted(PARAMS), 1)
            print("error: %s:%d:%d: unknown key '%s' in fake params" %
                  (config_path, key.start_mark.line + 1, key.start_mark.column + 1, key.value),
                  file=sys.stderr)
            print("  hint: " + ("did you mean '%s'?" % near[0] if near else "see fake_stage.py"),
                  file=sys.stderr)
            sys.stdout.flush()
            return 2
    params = cfg["params"] or {}
    reads = {}
    for name, path in (cfg["inputs"] or {}).items():
        if isinstance(path, str) and os.path.isdir(path):
            reads[name] = folder_reads(path, params.get("read_prefix"))
    yaml.safe_dump({"bmc-check": 1, "program": "fake_stage", "speed_only": SPEED_ONLY,
                    "reads": reads, "missing": {}}, sys.stdout)
    return 0


def write_output(path, text, slow):
    """Atomically (temporary file, rename), or with slow > 0 in place over slow seconds."""
    if not slow:
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        return
    chunks = 8
    step = max(1, len(text) // chunks)
    with open(path, "w") as f:
        for k in range(0, len(text), step):
            f.write(text[k:k + step])
            f.flush()
            time.sleep(slow / chunks)


def main(argv):
    if "--version" in argv:
        print("fake_stage " + os.environ.get("FAKE_STAGE_VERSION", "1.0"))
        if not os.environ.get("FAKE_STAGE_NO_CHECK"):
            print("stage-protocol: check")
        return 0
    if "--check" in argv:
        return check(argv[-1])
    if len(argv) < 2 or argv[-2] != "--config":
        print("fake_stage: usage: fake_stage.py [args] --config STAGE.yaml", file=sys.stderr)
        return 2
    with open(argv[-1]) as f:
        cfg = yaml.safe_load(f)
    if set(cfg) != CONFIG_KEYS or set(cfg["resources"]) != RESOURCE_KEYS:
        print("fake_stage: unexpected stage config keys: %s" % sorted(cfg), file=sys.stderr)
        return 9
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
    size = int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))
    params = cfg["params"] or {}
    print("fake_stage: %s rank %d of %d" % (cfg["instance"], rank, size))
    if rank != 0:
        return 0
    journal = os.environ.get("FAKE_STAGE_JOURNAL")
    if journal:
        with open(journal, "a") as f:
            f.write(json.dumps({
                "instance": cfg["instance"], "ranks": size, "args": argv[1:-2],
                "omp": os.environ.get("OMP_NUM_THREADS"),
                "openblas": os.environ.get("OPENBLAS_NUM_THREADS"),
                "fingerprint": cfg["fingerprint"]}) + "\n")
    fail = params.get("fail")
    if fail is True or fail == cfg["instance"]:
        for k in range(15):
            print("fake_stage: log line %d" % k)
        print("fake_stage: failing on purpose")
        print("error: %s: failing on purpose (params.fail)" % cfg["instance"])
        print("  hint: set fail: false")
        return int(params.get("exit_code", 3))
    lines = ["params: " + json.dumps(params, sort_keys=True)]
    for name in sorted(cfg["inputs"] or {}):
        paths = cfg["inputs"][name]
        for path in (paths if isinstance(paths, list) else [paths]):
            lines.append("input %s: %s" % (name, content_hash(path)))
    for name, path in sorted(cfg["outputs"].items()):
        if name == params.get("skip_output"):
            continue
        text = "\n".join(["output: " + name] + lines) + "\n"
        text += "sha256 %s\n" % hashlib.sha256(text.encode()).hexdigest()
        if name in (params.get("folders") or []):
            os.makedirs(path, exist_ok=True)
            path = os.path.join(path, "result.txt")
        write_output(path, text, float(params.get("slow") or 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
