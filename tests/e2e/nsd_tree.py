#!/usr/bin/env python3
"""nsd_tree.py — a small synthetic tree in NSD's own file formats, for bmc-extract-fmri's tests
and benchmark (independent of `bmc-synth brain`).

Written with the tools NSD users read it with: h5py (stimuli, betas), nibabel (ROI NIfTI),
scipy.io.savemat (nsd_expdesign.mat, MATLAB v5), plain text (ctab, csv). Layout and
conventions: docs/FORMATS.md, "NSD's own files". Special voxels are planted on purpose:
invalid ones (0 in every trial of one session), a voxel that is constant (nonzero) in one
session, one constant in every session, and scattered single zeros.

usage as a program: nsd_tree.py ROOT [--big]   (--big: the benchmark's tree)
"""
import os
import sys

import h5py
import nibabel as nib
import numpy as np
import scipy.io

ROI_FILES = {  # file stem -> ctab entries (value, name); value 7 of prf-visualrois is never used
    "prf-visualrois": [(0, "Unknown"), (1, "V1v"), (2, "V1d"), (3, "V2v"), (4, "V2d"), (7, "hV4")],
    "floc-bodies": [(0, "Unknown"), (1, "EBA"), (2, "FBA-1")],
    "floc-faces": [(0, "Unknown"), (1, "OFA"), (2, "FFA-1")],
    "floc-places": [(0, "Unknown"), (1, "OPA")],
    "floc-words": [(0, "Unknown"), (1, "OWFA"), (2, "VWFA-1")],
}
ROI_DTYPES = {"nsdgeneral": np.int16, "prf-visualrois": np.int32, "floc-bodies": np.float32,
              "floc-faces": np.int16, "floc-places": np.float32, "floc-words": np.int8}

SMALL = dict(n_stimuli=120, n_shared=10, per_subject=40, repeats=3, trials=30, image_hw=(4, 4),
             subjects=[dict(grid=(10, 12, 9), sessions=4), dict(grid=(8, 11, 7), sessions=3)])
BIG = dict(n_stimuli=3000, n_shared=100, per_subject=1500, repeats=3, trials=750, image_hw=(2, 2),
           subjects=[dict(grid=(40, 48, 36), sessions=6)])


def subj_dir(root, *parts):
    return os.path.join(root, *parts)


def roi_volumes(rng, grid, with_unnamed):
    """nsdgeneral and the ROI files of one grid, as integer arrays (X, Y, Z)."""
    X, Y, Z = grid
    brain = np.zeros(grid, bool)
    brain[1:X - 1, 1:Y - 1, 1:Z - 1] = True
    general = np.where(brain, 0, -1)
    general[2:X - 2, 2:Y - 1, 1:Z - 2] = 1
    vols = {"nsdgeneral": general}
    for name, entries in ROI_FILES.items():
        labels = [v for v, _ in entries if 0 < v < 7]
        v = np.where(brain, 0, -1)
        mask = brain & (rng.random(grid) < 0.45)
        v[mask] = rng.choice(labels, size=int(mask.sum()))
        if name == "prf-visualrois" and with_unnamed:
            v[X // 2, Y // 2, Z // 2] = 5  # a value the ctab does not name
        vols[name] = v
    return vols


def write_design(root, rng, cfg):
    """Stimuli file, nsd_expdesign.mat and nsd_stim_info_merged.csv; returns subjectim."""
    n_sub = len(cfg["subjects"])
    ns, per = cfg["n_shared"], cfg["per_subject"]
    ids = rng.permutation(cfg["n_stimuli"])[: ns + n_sub * (per - ns)] + 1  # 1-based
    shared = ids[:ns]
    subjectim = np.zeros((n_sub, per), np.float64)
    for s in range(n_sub):
        own = ids[ns + s * (per - ns): ns + (s + 1) * (per - ns)]
        subjectim[s] = np.concatenate([shared, own])
    order = np.concatenate([rng.permutation(per) + 1 for _ in range(cfg["repeats"])])
    n_order = max(sc["sessions"] for sc in cfg["subjects"]) * cfg["trials"]
    assert len(order) >= n_order, "repeats x images must cover every session's trials"
    d = subj_dir(root, "nsddata", "experiments", "nsd")
    os.makedirs(d, exist_ok=True)
    scipy.io.savemat(os.path.join(d, "nsd_expdesign.mat"),
                     {"masterordering": order[None, :n_order].astype(np.float64),
                      "subjectim": subjectim, "sharedix": shared[None, :].astype(np.float64)})
    with open(os.path.join(d, "nsd_stim_info_merged.csv"), "w") as f:
        f.write("nsdId,shared1000," + ",".join(f"subject{s + 1}" for s in range(n_sub)) + "\n")
        for i in range(cfg["n_stimuli"]):
            flags = [int((subjectim[s] == i + 1).any()) for s in range(n_sub)]
            f.write(f"{i},{int(i + 1 in shared)}," + ",".join(map(str, flags)) + "\n")
    sd = subj_dir(root, "nsddata_stimuli", "stimuli", "nsd")
    os.makedirs(sd, exist_ok=True)
    h, w = cfg["image_hw"]
    with h5py.File(os.path.join(sd, "nsd_stimuli.hdf5"), "w") as f:
        f["imgBrick"] = rng.integers(0, 256, (cfg["n_stimuli"], h, w, 3), dtype=np.uint8)
    return subjectim


def write_subject(root, rng, s, sc, cfg):
    grid, T = tuple(sc["grid"]), cfg["trials"]
    X, Y, Z = grid
    sub = f"subj{s:02d}"
    vols = roi_volumes(rng, grid, with_unnamed=(s == 1))
    rd = subj_dir(root, "nsddata", "ppdata", sub, "func1pt8mm", "roi")
    ld = subj_dir(root, "nsddata", "freesurfer", sub, "label")
    os.makedirs(rd, exist_ok=True)
    os.makedirs(ld, exist_ok=True)
    aff = np.diag([1.8, 1.8, 1.8, 1.0])
    for name, v in vols.items():
        img = nib.Nifti1Image(v.astype(ROI_DTYPES[name]), aff)
        img.to_filename(os.path.join(rd, name + ".nii.gz"))
        entries = ROI_FILES.get(name, [(0, "Unknown"), (1, "nsdgeneral")])
        if name == "nsdgeneral" and s != 1:
            continue  # subject 2 has no nsdgeneral.mgz.ctab: `labels: all` names values by number
        with open(os.path.join(ld, name + ".mgz.ctab"), "w") as f:
            f.write("".join(f"{v}\t{n}\n" for v, n in entries))
    ncsnr = nib.Nifti1Image(rng.random(grid).astype(np.float32), aff)
    ncsnr.to_filename(os.path.join(rd, "..", "ncsnr.nii.gz"))

    bd = subj_dir(root, "nsddata_betas", "ppdata", sub, "func1pt8mm", "betas_fithrf_GLMdenoise_RR")
    os.makedirs(bd, exist_ok=True)
    general = vols["nsdgeneral"].transpose(2, 1, 0)  # (Z, Y, X) like the betas
    inside = np.argwhere(general == 1)
    special = inside[rng.choice(len(inside), 6, replace=False)]
    for sess in range(1, sc["sessions"] + 1):
        base = rng.normal(0, 2, (Z, Y, X))                          # per-session offsets
        scale = rng.uniform(0.5, 3.0, (Z, Y, X))
        b = np.round(300 * (base + scale * rng.standard_normal((T, Z, Y, X))))
        b = np.clip(b, -32768, 32767).astype(np.int16)
        b[rng.random(b.shape) < 0.01] = 0                           # scattered zeros: not invalid
        z, y, x = special[0]
        b[:, z, y, x] = 0 if sess == 2 else b[:, z, y, x]           # invalid (session 2 only)
        z, y, x = special[1]
        b[:, z, y, x] = 0 if sess == 1 else b[:, z, y, x]           # invalid (session 1 only)
        z, y, x = special[2]
        b[:, z, y, x] = 123 if sess == 3 else b[:, z, y, x]         # constant in session 3
        z, y, x = special[3]
        b[:, z, y, x] = -77                                         # constant everywhere
        b[:, 0, 0, 0] = 0                                           # outside the brain: all 0
        with h5py.File(os.path.join(bd, f"betas_session{sess:02d}.hdf5"), "w") as f:
            f["betas"] = b


def make_tree(root, cfg=SMALL, seed=7):
    rng = np.random.default_rng(seed)
    write_design(root, rng, cfg)
    for s, sc in enumerate(cfg["subjects"], start=1):
        write_subject(root, rng, s, sc, cfg)
    return root


if __name__ == "__main__":
    make_tree(sys.argv[1], BIG if "--big" in sys.argv else SMALL)
