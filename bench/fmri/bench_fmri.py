#!/usr/bin/env python3
"""bench_fmri.py — bmc-extract-fmri's betas ingest against an h5py + NumPy reader of the same
files, and its 1 → 2 rank scaling.

Builds a synthetic NSD-format tree (tests/e2e/nsd_tree.py `--big`: 1 subject, 6 sessions x 750
trials on a 40 x 48 x 36 grid, 104 MB of int16 betas per session), then times, best of
--repeats runs each:

  h5py read only     every betas file read whole with h5py (the I/O ceiling of the reader)
  h5py + NumPy       tests/e2e/fmri_reference.py: read, mask, /300, z-score, average repeats
                     (the same rules, single process)
  bmc-extract-fmri   1 and 2 ranks, with hash_betas false (pure ingest) and true (default:
                     every betas file's SHA-256 in the provenance)

Phases of the stage come from its log (read + mask, z-score + average, write + fsync); "ingest"
is everything before the write. GB/s = GB of betas files per second (ingest, or the whole
run's wall time with MPI start and plan). CPU s = user + system CPU seconds of every process
of a run (less sensitive than wall time to other load on a shared machine). Every number is
with the betas in the page cache. The C output is checked against the reference (one float32
ulp).

usage: bench_fmri.py --exe BUILD/bmc-extract-fmri [--workdir DIR] [--repeats 3] [--zscore session]
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
import nsd_tree  # noqa: E402
from fmri_reference import reference  # noqa: E402


def betas_files(root):
    d = os.path.join(root, "nsddata_betas", "ppdata", "subj01", "func1pt8mm", "betas_fithrf_GLMdenoise_RR")
    return [os.path.join(d, f) for f in sorted(os.listdir(d))]


def best_of(n, fn):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def cpu_seconds(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def run_stage(exe, work, root, np_, params):
    """Run the stage; returns (wall s, phases {read, zscore, write} in s from its log, output)."""
    cfg = os.path.join(work, f"bench_{np_}.yaml")
    out = os.path.join(work, f"bench_{np_}.h5")
    with open(cfg, "w") as f:
        json.dump({"inputs": {"nsd_root": root}, "outputs": {"fmri": out}, "params": params}, f)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_mpi_yield_when_idle="1",
               OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,vader", BMC_LOG_LEVEL="info",
               OPENBLAS_NUM_THREADS="1")
    t, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
    p = subprocess.run(["mpiexec", "-n", str(np_), exe, "--config", cfg], capture_output=True,
                       text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode:
        sys.exit(f"bmc-extract-fmri failed:\n{p.stderr}")
    phases = {"cpu": cpu_seconds(resource.RUSAGE_CHILDREN) - cpu}
    for key, pat in (("read", r"read [0-9.]+ MB of betas in ([0-9.]+) s"),
                     ("zscore", r"z-scored and averaged in ([0-9.]+) s"),
                     ("write", r"wrote .* in ([0-9.]+) s")):
        phases[key] = float(re.search(pat, p.stderr).group(1))
    return wall, phases, out


def reference_run(root, sessions, zscore, out):
    """The h5py + NumPy reader: read, mask, z-score, average; then write the same matrices
    with h5py and fsync (as the stage does), timed separately."""
    t0, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
    ref = reference(root, 1, sessions, zscore)
    t1 = time.perf_counter()
    with h5py.File(out, "w") as f:
        for k, v in ref.items():
            if "/" in k and "@" not in k and not k.startswith("_"):
                f[k] = v.astype(np.float32) if v.dtype == np.float64 else v
    fd = os.open(out, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    t2 = time.perf_counter()
    nan = float("nan")
    return t2 - t0, {"read": nan, "zscore": nan, "ingest": t1 - t0, "write": t2 - t1,
                     "cpu": cpu_seconds(resource.RUSAGE_SELF) - cpu}, ref


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True)
    ap.add_argument("--workdir")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--zscore", default="session")
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix="bench_fmri_")
    root = os.path.join(work, "nsd")
    if not os.path.exists(root):
        t = time.perf_counter()
        nsd_tree.make_tree(root, nsd_tree.BIG)
        print(f"tree written in {time.perf_counter() - t:.1f} s: {root}", file=sys.stderr)
    files = betas_files(root)
    gb = sum(os.path.getsize(f) for f in files) / 1e9
    sessions = list(range(1, len(files) + 1))
    with h5py.File(files[0]) as f:
        shape = f["betas"].shape

    def h5py_read():
        for fn in files:
            with h5py.File(fn) as f:
                f["betas"][()]
        return None

    def best(fn):
        """Best of --repeats by wall time: (wall, phases, result)."""
        runs = [fn() for _ in range(a.repeats)]
        return min(runs, key=lambda r: r[0])

    for _ in range(2):  # warm the page cache: every number below is a warm-cache number
        h5py_read()
    rows, nan = [], float("nan")
    cpu = cpu_seconds(resource.RUSAGE_SELF)
    t, _ = best_of(a.repeats, h5py_read)
    cpu = (cpu_seconds(resource.RUSAGE_SELF) - cpu) / a.repeats
    rows.append(("h5py read only (1 process)", t,
                 {"read": t, "zscore": nan, "ingest": t, "write": nan, "cpu": cpu}))
    t, ph, ref = best(lambda: reference_run(root, sessions, a.zscore, os.path.join(work, "ref.h5")))
    rows.append(("h5py + NumPy (1 process)", t, ph))
    for hash_betas in (False, True):
        for np_ in (1, 2):
            params = {"subject": 1, "zscore": a.zscore, "hash_betas": hash_betas}
            t, ph, out = best(lambda: run_stage(a.exe, work, root, np_, params))
            rows.append((f"bmc-extract-fmri, {np_} rank{'s' if np_ > 1 else ''}, "
                         f"hash_betas {str(hash_betas).lower()}", t, ph))
            with h5py.File(out) as f:
                for g in ("detail", "semantic"):
                    got, want = f[f"train/{g}"][()], ref[f"train/{g}"]
                    ok = got.shape == want.shape and np.all(
                        np.abs(got - want) <= np.spacing(np.abs(want).astype(np.float32)) + 1e-12)
                    if not ok:
                        sys.exit(f"bmc-extract-fmri output differs from the reference ({g})")

    voxels = len(ref["union"])
    print(f"{len(files)} sessions x {shape[0]} trials, grid {shape[3]}x{shape[2]}x{shape[1]} "
          f"(X x Y x Z), {voxels} group voxels kept of {shape[1] * shape[2] * shape[3]}; "
          f"{gb:.2f} GB of betas; zscore {a.zscore}; best of {a.repeats} by wall time; "
          f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| reader | read + mask (s) | z-score + average (s) | ingest (s) | ingest GB/s | "
          "write + fsync (s) | wall (s) | wall GB/s | CPU s (all ranks) |")
    print("|---|---|---|---|---|---|---|---|---|")

    def fmt(x):
        return "—" if x != x else f"{x:.2f}"
    for name, t, ph in rows:
        ingest = ph["ingest"] if "ingest" in ph else ph["read"] + ph["zscore"]
        print(f"| {name} | {fmt(ph['read'])} | {fmt(ph['zscore'])} | {ingest:.2f} | "
              f"{gb / ingest:.2f} | {fmt(ph['write'])} | {t:.2f} | {gb / t:.2f} | "
              f"{ph['cpu']:.1f} |")
    c1, c2 = rows[2], rows[3]
    print(f"\n1 -> 2 ranks, hash_betas false: wall {c1[1] / c2[1]:.2f}x, "
          f"read + mask {c1[2]['read'] / c2[2]['read']:.2f}x, "
          f"z-score + average {c1[2]['zscore'] / c2[2]['zscore']:.2f}x")


if __name__ == "__main__":
    main()
