#!/usr/bin/env python3
"""fmri_reference.py — an independent NumPy + nibabel + h5py + scipy reading of an NSD tree
by the rules bmc-extract-fmri follows (DESIGN.md §3, docs/FORMATS.md `bmc.fmri`):

betas / 300 in float64; a voxel that is 0 in every trial of any used session is dropped;
`session` z-scoring = each session's mean and population sd (ddof 0), `train` = mean and sample
sd (ddof 1) over the non-shared trials, applied to all; a zero-variance voxel's z-scores are 0;
repeats averaged after z-scoring; rows sorted by image id; voxels x fastest, then y, then z; a
voxel's roi is the first matching `file:label` entry of its group.

Used by check_extract_fmri.py (parity) and bench/fmri/bench_fmri.py (the h5py + NumPy side).
"""
import os

import h5py
import nibabel as nib
import numpy as np
import scipy.io

DEFAULT_GROUPS = {
    "detail": {"rois": [{"file": f, "labels": "all"} for f in
                        ["prf-visualrois", "floc-bodies", "floc-faces", "floc-places", "floc-words"]]},
    "semantic": {"rois": [{"file": f, "labels": "all"} for f in
                          ["floc-bodies", "floc-faces", "floc-places", "floc-words"]]},
}


def _flat(vol):
    """(X, Y, Z) volume → flat array indexed x + X·(y + Y·z)."""
    return np.asarray(vol).transpose(2, 1, 0).ravel()


def _roi(root, sub, name):
    path = os.path.join(root, "nsddata", "ppdata", sub, "func1pt8mm", "roi", name + ".nii.gz")
    img = nib.load(path)
    return _flat(np.rint(img.get_fdata())).astype(np.int64), img.shape


def _ctab(root, sub, name):
    path = os.path.join(root, "nsddata", "freesurfer", sub, "label", name + ".mgz.ctab")
    if not os.path.exists(path):
        return None
    out = []
    for line in open(path):
        parts = line.split()
        if parts and not parts[0].startswith("#"):
            out.append((int(parts[0]), parts[1]))
    return out


def group_voxels(root, subject, spec):
    """(linear indices, labels, roi indices, roi lines) of one group."""
    sub = f"subj{subject:02d}"
    entries, vols = [], []
    for sel in spec["rois"]:
        vol, shape = _roi(root, sub, sel["file"])
        vols.append(vol)
        tab = _ctab(root, sub, sel["file"])
        labels = sel.get("labels", "all")
        if labels == "all":
            named = [(v, n) for v, n in (tab or []) if v > 0]
            extra = sorted(set(vol[vol > 0].tolist()) - {v for v, _ in named})
            chosen = named + [(v, str(v)) for v in extra]
        else:
            lookup = {n: v for v, n in tab}
            chosen = [(lookup[n], n) for n in labels]
        entries += [(len(vols) - 1, v, n) for v, n in chosen]
    keep = np.ones_like(vols[0], bool)
    if spec.get("within_nsdgeneral", True):
        keep = _roi(root, sub, "nsdgeneral")[0] > 0
    roi = np.full(vols[0].shape, -1)
    for k in reversed(range(len(entries))):  # the first matching entry wins
        f, v, _ = entries[k]
        roi[(vols[f] == v) & keep] = k
    idx = np.nonzero(roi >= 0)[0]
    label = np.array([entries[r][1] for r in roi[idx]], np.int64)
    lines = "\n".join(f"{spec['rois'][f]['file']}:{n}" for f, _, n in entries)
    return idx, label, roi[idx], lines, shape


def _zscore(x, stats_of, ddof):
    """(x − mean)/sd with the statistics of the rows `stats_of`; 0 where those rows are all
    equal (zero variance: decided exactly, not from a rounded sd)."""
    mu, sd = stats_of.mean(0), stats_of.std(0, ddof=ddof)
    constant = stats_of.max(0) == stats_of.min(0)
    return np.where(constant, 0.0, (x - mu) / np.where(constant, 1.0, sd))


def reference(root, subject, sessions, zscore="session", groups=None):
    """Everything bmc-extract-fmri writes, computed in float64 (matrices not yet rounded)."""
    groups = groups or DEFAULT_GROUPS
    sub = f"subj{subject:02d}"
    d = scipy.io.loadmat(os.path.join(root, "nsddata", "experiments", "nsd", "nsd_expdesign.mat"))
    order = d["masterordering"].ravel().astype(np.int64)
    subjectim = d["subjectim"].astype(np.int64)
    n_shared = d["sharedix"].size
    gv = {g: group_voxels(root, subject, spec) for g, spec in groups.items()}
    union = np.unique(np.concatenate([v[0] for v in gv.values()]))
    bdir = os.path.join(root, "nsddata_betas", "ppdata", sub, "func1pt8mm", "betas_fithrf_GLMdenoise_RR")
    data, images, shared = [], [], []
    for s in sessions:
        with h5py.File(os.path.join(bdir, f"betas_session{s:02d}.hdf5"), "r") as f:
            b = f["betas"][()]
        T = b.shape[0]
        data.append(b.reshape(T, -1)[:, union].astype(np.float64) / 300.0)
        cols = order[(s - 1) * T: s * T]
        images.append(subjectim[subject - 1, cols - 1] - 1)
        shared.append(cols <= n_shared)
    invalid = np.zeros(len(union), bool)
    for x in data:
        invalid |= np.all(x == 0, axis=0)
    images, shared = np.concatenate(images), np.concatenate(shared)
    if zscore == "session":
        zs = []
        for x in data:
            zs.append(_zscore(x, x, 0))
        z = np.concatenate(zs)
    else:
        x = np.concatenate(data)
        z = _zscore(x, x[~shared], 1)
    out = {"n_invalid_voxels": int(invalid.sum()), "union": union}
    for part, mask in (("train", ~shared), ("test", shared)):
        ids = np.unique(images[mask])
        out[f"{part}/image_ids"] = ids
        rows = np.stack([z[mask & (images == i)].mean(0) for i in ids]) if len(ids) else \
            np.zeros((0, len(union)))
        out[f"{part}/n_repeats"] = np.array([(mask & (images == i)).sum() for i in ids])
        out[f"_{part}_rows"] = rows
    pos = {v: k for k, v in enumerate(union)}
    for g, (idx, label, roi, lines, shape) in gv.items():
        cols = np.array([pos[v] for v in idx])
        ok = ~invalid[cols]
        X, Y = shape[0], shape[1]
        v = idx[ok]
        out[f"voxels/{g}/ijk"] = np.stack([v % X, (v // X) % Y, v // (X * Y)], 1)
        out[f"voxels/{g}/label"] = label[ok]
        out[f"voxels/{g}/roi"] = roi[ok]
        out[f"voxels/{g}@rois"] = lines
        for part in ("train", "test"):
            out[f"{part}/{g}"] = out[f"_{part}_rows"][:, cols[ok]]
    return out
