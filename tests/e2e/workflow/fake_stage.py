#!/usr/bin/python3
"""fake_stage.py — a stand-in stage program for the workflow engine's tests.

Reads the stage config that bmc-workflow writes (--config PATH), checks that it has exactly
the documented keys, and writes every output as a small text file (or, for names listed in
params.folders, a folder holding result.txt) whose content depends only on the inputs'
content and the params, so reruns are deterministic. Under mpiexec only rank 0 writes.
Params it understands: fail (true, or an instance name: exit with params.exit_code, default 3,
after printing lines),
skip_output (an output name not to write). If FAKE_STAGE_JOURNAL is set, each run appends a
JSON line (instance, ranks, thread variables) to that file. `--version` prints
`fake_stage <FAKE_STAGE_VERSION or 1.0>`. Not a real stage: no HDF5, no MPI calls.
"""
import hashlib
import json
import os
import sys

import yaml

CONFIG_KEYS = {"stage", "instance", "fingerprint", "inputs", "outputs", "params", "resources"}
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


def main(argv):
    if "--version" in argv:
        print("fake_stage " + os.environ.get("FAKE_STAGE_VERSION", "1.0"))
        return 0
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
        if name in (params.get("folders") or []):
            os.makedirs(path, exist_ok=True)
            path = os.path.join(path, "result.txt")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
