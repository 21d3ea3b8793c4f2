#!/usr/bin/env python3
"""check_extract_fmri.py — bmc-extract-fmri end to end, through its command line.

A small NSD-format tree (nsd_tree.py: 2 subjects on different grids, 4 and 3 sessions of 30
trials, 40 images per subject of which 10 shared, 3 repeats, planted invalid and constant
voxels, six ROI files of mixed NIfTI types) is read by the C stage and by an independent
NumPy/nibabel/h5py/scipy reading of the same files (fmri_reference.py).

  parity  every matrix within one float32 ulp of the float64 reference, ids, repeats, voxel
          tables, ROI lists, invalid-voxel counts and the provenance hashes exactly equal;
          both z-scoring modes, default and custom groups, a session list
  ranks   1, 2 and 4 ranks (and small exchange blocks) give bit-identical files
  empty   a design without shared images gives empty /test datasets
  bad     each bad input gives exit status 2, one clear message, and no output (no .partial)

usage: check_extract_fmri.py BMC_EXTRACT_FMRI [--only parity|bad]
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nsd_tree  # noqa: E402
from fmri_reference import reference  # noqa: E402

exe = sys.argv[1]
only = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--only" else None
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what, flush=True)


def run(tmp, name, root, out, params, np_=1):
    cfg = os.path.join(tmp, name + ".yaml")
    with open(cfg, "w") as f:
        json.dump({"inputs": {"nsd_root": root}, "outputs": {"fmri": out}, "params": params}, f)
    env = dict(os.environ, OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,vader")  # fastest launch
    # One rank runs as an MPI singleton: mpiexec adds ~2 s to every failing run.
    cmd = ([exe] if np_ == 1 else ["mpiexec", "-n", str(np_), exe]) + ["--config", cfg]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def read_all(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        attrs = dict(f.attrs)
        for g in f["voxels"]:
            out[f"voxels/{g}@rois"] = f["voxels"][g].attrs["rois"]
    return out, attrs


CUSTOM = {  # subject 2: label subsets, no nsdgeneral restriction, nsdgeneral itself (no ctab)
    "early": {"rois": [{"file": "prf-visualrois", "labels": ["V2v", "V1v"]},
                       {"file": "floc-faces", "labels": ["FFA-1"]}], "within_nsdgeneral": False},
    "general": {"rois": [{"file": "nsdgeneral", "labels": "all"}], "within_nsdgeneral": False},
    "words": {"rois": [{"file": "floc-words"}]},
}


def compare(tag, got, attrs, ref, sessions, zscore, root):
    check(attrs["format"] == "bmc.fmri" and attrs["format_version"] == 1, f"{tag}: format")
    check(attrs["sessions"] == len(sessions) and list(attrs["session_ids"]) == sessions,
          f"{tag}: sessions attrs")
    check(attrs["zscore"] == zscore, f"{tag}: zscore attr")
    check(attrs["n_invalid_voxels"] == ref["n_invalid_voxels"],
          f"{tag}: n_invalid_voxels {attrs['n_invalid_voxels']} != {ref['n_invalid_voxels']}")
    worst = 0.0
    for k, v in ref.items():
        if k.startswith("_") or k in ("n_invalid_voxels", "union"):
            continue
        if k.endswith("@rois"):
            check(got[k] == v, f"{tag}: {k}: {got[k]!r} != {v!r}")
            continue
        g = got.get(k)
        if g is None:
            check(False, f"{tag}: missing dataset {k}")
        elif g.dtype == np.float32:
            ok = g.shape == v.shape and np.all(
                np.abs(g - v) <= np.spacing(np.abs(v).astype(np.float32)) + 1e-12)
            if g.shape == v.shape and g.size:
                worst = max(worst, float(np.max(np.abs(g - v))))
            check(ok, f"{tag}: {k} differs from the reference by more than one float32 ulp")
        else:
            check(g.shape == v.shape and np.array_equal(g, v), f"{tag}: {k} differs: {g} vs {v}")
    extra = {k for k in got if not k.endswith("@rois")} - set(ref)
    check(not extra, f"{tag}: unexpected datasets {extra}")
    # Provenance: every betas file with its real SHA-256.
    lines = dict(l.split("\t") for l in attrs["inputs"].split("\n"))
    sub = f"subj{attrs['subject']:02d}"
    for s in sessions:
        p = os.path.join(root, "nsddata_betas", "ppdata", sub, "func1pt8mm",
                         "betas_fithrf_GLMdenoise_RR", f"betas_session{s:02d}.hdf5")
        check(lines.get(p) == hashlib.sha256(open(p, "rb").read()).hexdigest(),
              f"{tag}: provenance hash of {p}")
    print(f"  {tag}: {len(ref) - 3} datasets match; max abs deviation {worst:.1e} "
          "(within 1 float32 ulp)", flush=True)


def parity(tmp, root):
    cases = [  # (subject, params, sessions used)
        (1, {}, [1, 2, 3, 4]),
        (2, {"groups": CUSTOM}, [1, 2, 3]),
    ]
    ranks = {(1, "session"): (1, 2, 4), (1, "train"): (1, 4),   # subject 2 has 3 sessions:
             (2, "session"): (1, 4), (2, "train"): (1, 2)}       # on 4 ranks one reads none
    for subject, extra, sessions in cases:
        for zscore in ("session", "train"):
            params = dict(extra, subject=subject, zscore=zscore)
            ref = reference(root, subject, sessions, zscore, extra.get("groups"))
            files = {}
            for np_ in ranks[subject, zscore]:
                tag = f"subj{subject:02d} {zscore} np={np_}"
                out = os.path.join(tmp, f"s{subject}_{zscore}_{np_}.h5")
                p = run(tmp, f"s{subject}{zscore}{np_}", root, out, params, np_)
                check(p.returncode == 0, f"{tag}: exit {p.returncode}: {p.stderr[-3000:]}")
                if p.returncode:
                    continue
                files[np_] = read_all(out)
                if np_ == 1:
                    compare(tag, *files[1], ref, sessions, zscore, root)
            for np_ in ranks[subject, zscore][1:]:
                if 1 in files and np_ in files:
                    a, b = files[1][0], files[np_][0]
                    same = a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
                    check(same, f"subj{subject:02d} {zscore}: np={np_} output differs from np=1")
            if 1 in files:
                check(files[1][1]["n_constant_voxels"] > 0,
                      f"subj{subject:02d} {zscore}: a planted constant voxel was counted")
            check(ref["n_invalid_voxels"] > 0 or subject == 2, "planted invalid voxels are used")
    # A session list, and tiny exchange blocks on 2 ranks (bitwise equal to 1 rank).
    ref = reference(root, 1, [1, 3], "train")
    outs = []
    for np_, block in ((1, 0), (2, 7)):
        out = os.path.join(tmp, f"list_{np_}.h5")
        p = run(tmp, f"list{np_}", root, out,
                {"subject": 1, "sessions": [3, 1], "zscore": "train", "block_voxels": block}, np_)
        check(p.returncode == 0, f"sessions [3, 1] np={np_}: {p.stderr[-3000:]}")
        if p.returncode == 0:
            outs.append(read_all(out))
    if len(outs) == 2:
        compare("subj01 sessions [1, 3] train", *outs[0], ref, [1, 3], "train", root)
        a, b = outs[0][0], outs[1][0]
        check(all(np.array_equal(a[k], b[k]) for k in a), "block_voxels 7 on 2 ranks differs")
        n = outs[0][0]["train/n_repeats"].sum() + outs[0][0]["test/n_repeats"].sum()
        check(n == 60, f"sessions [1, 3]: {n} trials averaged, expected 60")


def no_test_set(tmp):
    """A design without shared images: empty /test datasets, /train as usual."""
    root = nsd_tree.make_tree(os.path.join(tmp, "noshared"), dict(nsd_tree.SMALL, n_shared=0))
    out = os.path.join(tmp, "noshared.h5")
    p = run(tmp, "noshared", root, out, {"subject": 1}, 2)
    check(p.returncode == 0, f"no shared images: {p.stderr[-3000:]}")
    if p.returncode == 0:
        got = read_all(out)
        check(got[0]["test/detail"].shape[0] == 0, "no shared images: /test/detail has 0 rows")
        compare("no shared images", *got, reference(root, 1, [1, 2, 3, 4]), [1, 2, 3, 4],
                "session", root)


def bad_inputs(tmp, root):
    def variant(name, edit):
        d = os.path.join(tmp, name)
        shutil.copytree(root, d)
        edit(d)
        return d

    betas1 = os.path.join("nsddata_betas", "ppdata", "subj01", "func1pt8mm", "betas_fithrf_GLMdenoise_RR")

    def transpose_betas(d):
        p = os.path.join(d, betas1, "betas_session02.hdf5")
        with h5py.File(p, "r+") as f:
            b = f["betas"][()]
            del f["betas"]
            f["betas"] = b.transpose(0, 3, 2, 1)  # (trials, X, Y, Z): the wrong axis order

    def shrink_stimuli(d):
        p = os.path.join(d, "nsddata_stimuli", "stimuli", "nsd", "nsd_stimuli.hdf5")
        with h5py.File(p, "r+") as f:
            b = f["imgBrick"][:20]
            del f["imgBrick"]
            f["imgBrick"] = b

    cases = [
        ("missing session", root, {"subject": 1, "sessions": [1, 2, 6]},
         ["missing session file", "betas_session06.hdf5"]),
        ("betas axis order", variant("transposed", transpose_betas), {"subject": 1},
         ["betas_session02.hdf5", "does not match the ROI grid", "(trials, X, Y, Z)"]),
        ("stimuli lack images", variant("few_stimuli", shrink_stimuli), {"subject": 1},
         ["nsd_stimuli.hdf5", "lacks", "has 20 images"]),
        ("label not in ctab", root,
         {"subject": 1, "groups": {"g": {"rois": [{"file": "prf-visualrois", "labels": ["V1v", "V9"]}]}}},
         ["label 'V9' is not in", "prf-visualrois.mgz.ctab", "V1v, V1d"]),
        ("group without voxels", root,
         {"subject": 1, "groups": {"empty": {"rois": [{"file": "prf-visualrois", "labels": ["hV4"]}]}}},
         ["group 'empty' has no voxels"]),
        ("subject not in design", root, {"subject": 3}, ["subject 3 is not in the design"]),
        ("unknown param", root, {"subject": 1, "zscor": "train"}, ["unknown key 'zscor'", "zscore"]),
        ("unknown group key", root,
         {"subject": 1, "groups": {"g": {"rois": [{"file": "floc-faces"}], "within_nsdgenral": False}}},
         ["unknown key 'within_nsdgenral'"]),
        ("bad zscore", root, {"subject": 1, "zscore": "global"}, ["zscore"]),
    ]
    for i, (what, r, params, needles) in enumerate(cases):
        out = os.path.join(tmp, f"bad{i}.h5")
        # Errors are found by rank 0 (plan) or by every rank (config) and agreed by one code
        # path: two cases check it on 2 ranks, the others run on one.
        p = run(tmp, f"bad{i}", r, out, params, 2 if i < 2 else 1)
        err = p.stderr
        check(p.returncode == 2, f"{what}: exit status {p.returncode}, expected 2: {err[-2000:]}")
        check(err.count("error:") == 1, f"{what}: expected one error line: {err[-2000:]}")
        for n in needles:
            check(n in err, f"{what}: message lacks {n!r}: {err[-2000:]}")
        check(not os.path.exists(out) and not os.path.exists(out + ".partial"),
              f"{what}: an output was left behind")
        print(f"  bad input ({what}): " + next((l for l in err.splitlines() if "error:" in l), "?"))


with tempfile.TemporaryDirectory() as tmp:
    root = nsd_tree.make_tree(os.path.join(tmp, "nsd"))
    if only in (None, "parity"):
        parity(tmp, root)
        no_test_set(tmp)
    if only in (None, "bad"):
        bad_inputs(tmp, root)

print(f"{passed} checks passed, {failed} failed")
sys.exit(1 if failed else 0)
