#!/usr/bin/env python3
"""compare_outputs.py — are two result trees the same, up to what may legitimately differ?

Walks tree A and tree B (two run directories, or two files) and compares every output:
HDF5 files dataset by dataset (dtype, shape, bytes) and attribute by attribute; JSON by value;
gzip files (NIfTI) by their decompressed bytes; MAT v5 files past
the text header that holds their creation time; everything else byte for byte. Always ignored:
the recorded creation time (`created_at`), the `pipeline_info/` and `logs/` folders (times,
launch details) and lock files. Paths inside values are compared after replacing each tree's
own root with `{root}`, so a run in another folder compares equal. Provenance `inputs`
attributes are compared by their paths: the hashes beside them cover the inputs' creation
times, and each input inside the tree is compared on its own.
--ignore-attr NAME ignores more attributes (e.g. created_by across commits, mpi_size across
rank counts). Exit 0 when equal, 1 with one line per difference otherwise.
Usage: compare_outputs.py A B [--ignore-attr NAME]... [--skip GLOB]...
"""
import argparse
import fnmatch
import gzip
import json
import os
import sys

import h5py
import numpy as np

ALWAYS_IGNORED_ATTRS = {"created_at"}
SKIPPED_DIRS = {"pipeline_info", "logs"}


def norm(value, root):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.replace(root, "{root}")
    return value


def attr_value(v, root):
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "OSU":
            return [norm(x, root) for x in v.ravel().tolist()]
        return ("array", v.dtype.str, v.shape, v.tobytes())
    return norm(v, root)


def input_paths(v, root):
    """The paths of a provenance `inputs` attribute ("path<TAB>sha256" lines). Their hashes
    are not compared: an input's bytes include its own creation time, and every input inside
    the tree is compared itself."""
    return [line.split("\t")[0] for line in norm(v, root).splitlines()]


def compare_h5(a, b, ra, rb, ignored, out):
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names_a, names_b = [], []
        fa.visit(names_a.append)
        fb.visit(names_b.append)
        for n in sorted(set(names_a) ^ set(names_b)):
            out.append(f"{a}: object /{n} only in {'A' if n in names_a else 'B'}")
        for n in ["/"] + sorted(set(names_a) & set(names_b)):
            oa, ob = fa[n], fb[n]
            if type(oa) is not type(ob):
                out.append(f"{a}: /{n} is a {type(oa).__name__} in A, {type(ob).__name__} in B")
                continue
            keys = (set(oa.attrs) | set(ob.attrs)) - ignored
            for k in sorted(keys):
                if k not in oa.attrs or k not in ob.attrs:
                    out.append(f"{a}: attribute {n}@{k} only in {'A' if k in oa.attrs else 'B'}")
                elif k == "inputs":
                    if input_paths(oa.attrs[k], ra) != input_paths(ob.attrs[k], rb):
                        out.append(f"{a}: attribute {n}@inputs names other inputs")
                elif attr_value(oa.attrs[k], ra) != attr_value(ob.attrs[k], rb):
                    out.append(f"{a}: attribute {n}@{k} differs")
            if isinstance(oa, h5py.Dataset):
                if oa.dtype != ob.dtype or oa.shape != ob.shape:
                    out.append(f"{a}: dataset /{n} is {oa.dtype}{oa.shape} in A, "
                               f"{ob.dtype}{ob.shape} in B")
                    continue
                da, db = oa[()], ob[()]
                if isinstance(da, np.ndarray) and da.dtype.kind in "OSU":
                    same = [norm(x, ra) for x in da.ravel().tolist()] == \
                           [norm(x, rb) for x in db.ravel().tolist()]
                elif isinstance(da, np.ndarray):
                    same = da.tobytes() == db.tobytes()
                else:
                    same = norm(da, ra) == norm(db, rb)
                if not same:
                    msg = f"{a}: dataset /{n} differs"
                    if isinstance(da, np.ndarray) and da.dtype.kind == "f" and da.size:
                        d = np.abs(da.astype(np.float64) - db.astype(np.float64))
                        scale = max(np.abs(da).max(), 1e-300)
                        msg += f" (max abs {d.max():.3e}, relative to max {d.max() / scale:.3e})"
                    out.append(msg)


def strip_json(v, root):
    if isinstance(v, dict):
        return {k: strip_json(x, root) for k, x in v.items() if k not in ALWAYS_IGNORED_ATTRS}
    if isinstance(v, list):
        return [strip_json(x, root) for x in v]
    return norm(v, root)


def compare_file(a, b, ra, rb, ignored, out):
    with open(a, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x89HDF"):
        compare_h5(a, b, ra, rb, ignored, out)
    elif a.endswith(".json"):
        with open(a) as fa, open(b) as fb:
            if strip_json(json.load(fa), ra) != strip_json(json.load(fb), rb):
                out.append(f"{a}: JSON content differs")
    elif head.startswith(b"MATLAB 5"):
        # The 116-byte text header of a MAT v5 file holds its creation time: skip it.
        with open(a, "rb") as fa, open(b, "rb") as fb:
            if fa.read()[116:] != fb.read()[116:]:
                out.append(f"{a}: MAT content differs")
    elif head.startswith(b"\x1f\x8b"):
        with gzip.open(a) as fa, gzip.open(b) as fb:
            if fa.read() != fb.read():
                out.append(f"{a}: decompressed content differs")
    else:
        with open(a, "rb") as fa, open(b, "rb") as fb:
            ca, cb = fa.read(), fb.read()
        if ca != cb and norm(ca, ra) != norm(cb, rb):
            out.append(f"{a}: bytes differ")


def walk(root, skips):
    files = set()
    for d, dirs, names in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = sorted(x for x in dirs if not (rel == "." and x in SKIPPED_DIRS))
        for n in names:
            r = os.path.normpath(os.path.join(rel, n))
            if n.endswith(".lock") or any(fnmatch.fnmatch(r, g) for g in skips):
                continue
            files.add(r)
    return files


def compare_trees(a, b, ignore_attrs=(), skips=()):
    """Returns the list of differences (empty when the trees are equal)."""
    ignored = ALWAYS_IGNORED_ATTRS | set(ignore_attrs)
    out = []
    if os.path.isfile(a):
        compare_file(a, b, os.path.dirname(os.path.abspath(a)), os.path.dirname(os.path.abspath(b)),
                     ignored, out)
        return out
    ra, rb = os.path.abspath(a), os.path.abspath(b)
    fa, fb = walk(ra, skips), walk(rb, skips)
    for r in sorted(fa ^ fb):
        out.append(f"{r}: only in {'A' if r in fa else 'B'}")
    for r in sorted(fa & fb):
        compare_file(os.path.join(ra, r), os.path.join(rb, r), ra, rb, ignored, out)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--ignore-attr", action="append", default=[])
    ap.add_argument("--skip", action="append", default=[])
    args = ap.parse_args()
    diffs = compare_trees(args.a, args.b, args.ignore_attr, args.skip)
    for d in diffs:
        print(d)
    print(f"compare_outputs: {len(diffs)} difference(s) between {args.a} and {args.b}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
