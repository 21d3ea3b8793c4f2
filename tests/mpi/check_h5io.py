#!/usr/bin/env python3
"""check_h5io.py — independent check of brainmclip's parallel HDF5 writer with h5py + NumPy.

Runs `mpiexec -n NP EXE --emit DIR/out.h5` (test_h5io.c, function emit) in a fresh temporary
folder, then verifies with h5py: the output is committed (no .partial), every dataset's shape,
on-disk dtype (little-endian), chunking and values (the same formulas of the global element
index as the C test), and every attribute's value and the Python type h5py returns for it.

usage: check_h5io.py --np N --mpiexec MPIEXEC --numproc-flag=-n -- EXE
"""
import argparse, os, re, shutil, subprocess, sys, tempfile

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--np", type=int, required=True)
ap.add_argument("--mpiexec", default="mpiexec")
ap.add_argument("--numproc-flag", default="-n")
ap.add_argument("exe", nargs=argparse.REMAINDER)
a = ap.parse_args()
exe = [c for c in a.exe if c != "--"]

checks = []


def check(ok, what):
    checks.append((bool(ok), what))


def values(kind, shape):
    k = np.arange(int(np.prod(shape)), dtype=np.int64)
    if kind == "u8":
        v = ((k * 7 + 3) % 256).astype("<u1")
    elif kind == "i16":
        v = (k * 37 % 2000 - 1000).astype("<i2")
    elif kind == "i32":
        v = (k * 12345 - 99999).astype("<i4")
    elif kind == "i64":
        v = ((k - 3) * 1000000007).astype("<i8")
    elif kind == "f32":
        v = ((k % 97).astype(np.float64) * 0.125 - 5.0).astype("<f4")
    else:
        v = k.astype(np.float64) * 0.1 - 2.5
    return v.reshape(shape)


# name, kind, shape, chunks: must match `specs` in test_h5io.c
SPECS = [
    ("images/u8", "u8", (11, 3, 2, 3), None),
    ("features/f32", "f32", (13, 7), (4, 3)),
    ("features/deep/f64", "f64", (9, 4, 5), None),
    ("i16", "i16", (10, 6), (4, 3)),
    ("i32", "i32", (5,), None),
    ("i64", "i64", (6, 2), None),
]
DTYPES = {"u8": "<u1", "i16": "<i2", "i32": "<i4", "i64": "<i8", "f32": "<f4", "f64": "<f8"}

tmp = tempfile.mkdtemp(prefix="bmc-h5io-py-")
try:
    out = os.path.join(tmp, "out.h5")
    cmd = [a.mpiexec, a.numproc_flag, str(a.np)] + exe + ["--emit", out]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=170)
    check(p.returncode == 0, f"writer exited with {p.returncode}: {p.stderr.strip()[-2000:]}")
    check(os.path.exists(out) and not os.path.exists(out + ".partial"), "committed, no .partial")
    if os.path.exists(out):
        with h5py.File(out, "r") as f:
            at = f.attrs
            check(isinstance(at["format"], str) and at["format"] == "bmc.h5io-check",
                  f"format is a str: {at['format']!r}")
            check(at["format_version"] == 7 and at["format_version"].dtype == np.int64,
                  f"format_version {at['format_version']!r}")
            cb = at["created_by"]
            check(isinstance(cb, str) and re.fullmatch(r"brainmclip \S+ \(\S+\)", cb),
                  f"created_by {cb!r}")
            check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", at["created_at"]),
                  f"created_at {at['created_at']!r}")
            check(at["config_sha256"] == "c0ffee", "config_sha256")
            check(at["stage_fingerprint"] == "fp-emit", "stage_fingerprint")
            check(at["inputs"] == "inputs/stimuli.h5\t0123abcd", f"inputs {at['inputs']!r}")
            check(at["mpi_size"] == a.np, f"mpi_size {at['mpi_size']!r}")
            for name, kind, shape, chunks in SPECS:
                d = f[name]
                check(d.shape == shape, f"{name}: shape {d.shape} vs {shape}")
                check(d.dtype == np.dtype(DTYPES[kind]), f"{name}: dtype {d.dtype.str}")
                check(d.chunks == chunks, f"{name}: chunks {d.chunks} vs {chunks}")
                if d.shape == shape:
                    want = values(kind, shape)
                    got = d[()]
                    bad = int(np.count_nonzero(got != want))
                    check(bad == 0, f"{name}: {bad} of {want.size} values differ")
            fa = f["features/f32"].attrs
            check(isinstance(fa["units"], str) and fa["units"] == "z-score \u00b1",
                  f"units {fa['units']!r}")
            check(fa["count"] == -42 and fa["count"].dtype == np.int64, "count")
            check(f["features"].attrs["scale"] == 0.1, "scale")
            sh = f["images/u8"].attrs["shape_hint"]
            check(sh.dtype == np.int64 and list(sh) == [3, -2, 1 << 40, 0], f"shape_hint {sh!r}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

failed = [m for ok, m in checks if not ok]
for ok, m in checks:
    print(("ok: " if ok else "FAILED: ") + m)
print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
