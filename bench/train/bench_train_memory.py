#!/usr/bin/env python3
"""bench_train_memory.py — bmc-train's whole-process peak RSS against its mem_per_rank budget.

Writes seeded synthetic bmc.fmri / bmc.clip files (n training images, p voxels in one group,
targets t = tokens × 768 of a CLIP-Detail-like dataset) for several t at fixed n and p, runs
bmc-train on one rank for each selection mode with the same budget, and prints a table of the
measured peak RSS (wait4's ru_maxrss of the process) against the budget, with the block width
the solver chose, the stage's and solver's predictions (from its log) and the wall time.
Not here: correctness (tests/e2e/check_train.py), the solver alone (bench/ridge).

Usage: bench_train_memory.py BMC_TRAIN [--n 1000] [--p 2000] [--tokens 1,4,16,64]
                             [--modes gcv,loo,kfold] [--budget 256M] [--tmp DIR]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

WIDTH = 768


def write_inputs(d, n, n_test, p, tokens, rng):
    """bmc.fmri with one group 'detail' (p voxels), bmc.clip with 'detail' [N, tokens, 768]."""
    N = n + n_test
    ids = np.arange(N, dtype=np.int64) * 7 + 3
    fpath, cpath = os.path.join(d, "fmri.h5"), os.path.join(d, "clip_%d.h5" % tokens)
    if not os.path.exists(fpath):
        vox = rng.standard_normal((N, p)).astype(np.float32)
        with h5py.File(fpath, "w") as f:
            f.attrs["format"] = "bmc.fmri"
            f.attrs["format_version"] = np.int64(1)
            f.attrs["subject"] = np.int64(1)
            f.attrs["grid"] = np.array([64, 64, 64], np.int64)
            f.attrs["groups"] = "detail"
            f.attrs["zscore"] = "session"
            f["train/image_ids"] = ids[:n]
            f["test/image_ids"] = ids[n:]
            f["train/detail"] = vox[:n]
            f["test/detail"] = vox[n:]
            cells = rng.permutation(64 ** 3)[:p]
            f["voxels/detail/ijk"] = np.stack(np.unravel_index(cells, (64, 64, 64), order="F"),
                                              1).astype(np.int32)
            f["voxels/detail/roi"] = np.zeros(p, np.int32)
            f["voxels/detail/label"] = np.ones(p, np.int32)
            f["voxels/detail"].attrs["rois"] = "a.nii.gz:A"
    with h5py.File(cpath, "w") as f:
        f.attrs["format"] = "bmc.clip"
        f.attrs["format_version"] = np.int64(1)
        f["image_ids"] = ids
        ds = f.create_dataset("detail", (N, tokens, WIDTH), np.float32)
        for k in range(tokens):  # one token at a time keeps this script's memory small
            ds[:, k, :] = rng.standard_normal((N, WIDTH)).astype(np.float32)
    return fpath, cpath


def run_train(exe, d, fpath, cpath, mode, budget, tag):
    cfg = os.path.join(d, tag + ".yaml")
    out = os.path.join(d, tag + ".h5")
    params = {"mappings": {"detail": {"x": "detail", "y": "detail"}}, "cv": mode,
              "encoding": False, "mem_per_rank": budget}
    with open(cfg, "w") as f:
        json.dump({"inputs": {"fmri": fpath, "features": cpath}, "outputs": {"model": out},
                   "params": params}, f)
    t0 = time.time()
    proc = subprocess.Popen([exe, "--config", cfg], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    log = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.time() - t0
    if status != 0:
        sys.stderr.write(log)
        raise SystemExit("bmc-train failed (%s, %s)" % (tag, status))
    m = re.search(r"(\d+) target columns per block, solver memory peak ([\d.]+) MiB "
                  r"\(predicted ([\d.]+) MiB\), stage arrays ([\d.]+) MiB", log)
    size = os.path.getsize(out)
    os.remove(out)
    return dict(rss=ru.ru_maxrss * 1024, block=int(m.group(1)), solver=float(m.group(3)),
                stage=float(m.group(4)), wall=wall, model_bytes=size)


def parse_bytes(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(s[:-1]) * mult[s[-1]]) if s[-1] in mult else int(s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("exe")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--n-test", type=int, default=50)
    ap.add_argument("--p", type=int, default=2000)
    ap.add_argument("--tokens", default="1,4,16,64")
    ap.add_argument("--modes", default="gcv,loo,kfold")
    ap.add_argument("--budget", default="256M")
    ap.add_argument("--tmp", default=None)
    a = ap.parse_args()
    budget = parse_bytes(a.budget)
    rng = np.random.default_rng(2026)
    with tempfile.TemporaryDirectory(prefix="bench_train_mem_", dir=a.tmp) as d:
        print("| mode | t | block cols | stage MiB | solver pred. MiB | peak RSS MiB | "
              "budget MiB | peak / budget | wall s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for tokens in [int(x) for x in a.tokens.split(",")]:
            fpath, cpath = write_inputs(d, a.n, a.n_test, a.p, tokens, rng)
            for mode in a.modes.split(","):
                r = run_train(a.exe, d, fpath, cpath, mode, a.budget, "%s_%d" % (mode, tokens))
                print("| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %.3f | %.1f |" % (
                    mode, tokens * WIDTH, r["block"], r["stage"], r["solver"],
                    r["rss"] / 2 ** 20, budget / 2 ** 20, r["rss"] / budget, r["wall"]),
                    flush=True)
            os.remove(cpath)


if __name__ == "__main__":
    main()
