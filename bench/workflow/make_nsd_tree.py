#!/usr/bin/python3
"""make_nsd_tree.py — a synthetic NSD root with NSD's file layout, file count and file sizes,
made of sparse files (no disk blocks), to measure what bmc-workflow's planning costs at
study scale.

usage: make_nsd_tree.py ROOT [--scale S]

Eight subjects with NSD's session counts (40, 40, 32, 30, 40, 32, 40, 30), each session a
`betas_sessionNN.hdf5` of NSD's size (750 trials × 83 × 104 × 81 int16 ≈ 1.05 GB, plus a
header) and its per-session companions (R2, R2run, meanbeta, per-run design and motion
files); per subject
the func1pt8mm ROI files the pipeline reads (nsdgeneral, prf-visualrois, floc-*) with their
freesurfer label tables, and NSD's other small ppdata/freesurfer files; the 73000-image
`nsd_stimuli.hdf5` (≈ 39.6 GB); `nsd_expdesign.mat`, `nsd_stim_info_merged.csv`. About
347 GB and 10300 files in all: what a user downloads for this pipeline. --scale S multiplies every size (e.g. 1e-5 for the test
suite's small tree: same names and count, a few MB). Files are content-free holes: the
planner only stats, lists and hashes them, it never parses them. Running it again is a
no-op for files that already have their size.
Not here: valid HDF5/NIfTI content (bmc-synth brain makes a small real NSD tree).
"""
import argparse
import os

SESSIONS = {1: 40, 2: 40, 3: 32, 4: 30, 5: 40, 6: 32, 7: 40, 8: 30}
BETAS_BYTES = 750 * 83 * 104 * 81 * 2 + 2 * 1024 * 1024  # int16 betas + HDF5 metadata
STIMULI_BYTES = 73000 * 425 * 425 * 3 + 1024 * 1024
ROIS = ["nsdgeneral", "prf-visualrois", "prf-eccrois", "floc-bodies", "floc-faces", "floc-places",
        "floc-words", "Kastner2015", "HCP_MMP1", "streams", "corticalsulc", "thalamus",
        "MTL", "lh.nsdgeneral", "rh.nsdgeneral"]
MB = 1024 * 1024


def sparse(path, size):
    """A file of `size` bytes that holds no data blocks (a hole), made only when absent or
    of another size."""
    size = max(int(size), 1)
    if os.path.exists(path) and os.path.getsize(path) == size:
        return 0
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
    return 1


def make(root, scale):
    made = files = 0
    total = 0.0

    def add(rel, size):
        nonlocal made, files, total
        made += sparse(os.path.join(root, rel), size * scale)
        files += 1
        total += max(int(size * scale), 1)

    add("nsddata/experiments/nsd/nsd_expdesign.mat", 3 * MB)
    add("nsddata/experiments/nsd/nsd_stim_info_merged.csv", 12 * MB)
    add("nsddata/experiments/nsd/nsd_stim_info_merged.pkl", 10 * MB)
    add("nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5", STIMULI_BYTES)
    for k in range(1, 21):
        add("nsddata_stimuli/stimuli/nsd/shared1000/shared%04d.png" % k, 200 * 1024)
    for s, n in SESSIONS.items():
        subj = "subj%02d" % s
        betas = "nsddata_betas/ppdata/%s/func1pt8mm/betas_fithrf_GLMdenoise_RR" % subj
        for ses in range(1, n + 1):
            add("%s/betas_session%02d.hdf5" % (betas, ses), BETAS_BYTES)
            for kind in ("meanbeta", "R2", "R2run"):
                add("%s/%s_session%02d.nii.gz" % (betas, kind, ses), 2 * MB)
            for run in range(1, 13):  # per-run design and motion files of the session
                add("nsddata/ppdata/%s/func1pt8mm/design/design_session%02d_run%02d.tsv"
                    % (subj, ses, run), 4 * 1024)
                add("nsddata/ppdata/%s/func1pt8mm/motion/motion_session%02d_run%02d.tsv"
                    % (subj, ses, run), 20 * 1024)
        for extra in ("R2.nii.gz", "ncsnr.nii.gz", "valid.nii.gz", "meanbeta.nii.gz"):
            add("%s/%s" % (betas, extra), 2 * MB)
        for roi in ROIS:
            add("nsddata/ppdata/%s/func1pt8mm/roi/%s.nii.gz" % (subj, roi), 300 * 1024)
            add("nsddata/freesurfer/%s/label/%s.mgz.ctab" % (subj, roi), 2 * 1024)
            add("nsddata/ppdata/%s/func1mm/roi/%s.nii.gz" % (subj, roi), 900 * 1024)
        for k in range(1, 121):  # surfaces, labels, transforms: NSD's many small files
            add("nsddata/freesurfer/%s/surf/file%03d" % (subj, k), 5 * MB)
            add("nsddata/ppdata/%s/anat/file%03d.nii.gz" % (subj, k), 3 * MB)
    return made, files, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root")
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    made, files, total = make(a.root, a.scale)
    print("%s: %d files (%d made now), %.1f GB apparent size, sparse" %
          (a.root, files, made, total / 1e9))


if __name__ == "__main__":
    main()
