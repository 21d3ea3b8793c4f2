#!/usr/bin/env python3
"""check_synth_brain.py — `bmc-synth brain` end to end, read back with nibabel, h5py, scipy.

1. Stimuli, random CLIP weights and their features are made with bmc-synth / bmc-extract-clip.
2. The tree is written on 1 and 2 ranks (the 1-rank run over a stale .partial, the 2-rank run
   over an existing tree): identical betas, NIfTI data, design, CSV and ground truth.
3. Everything is read as NSD's files: layout, shapes, dtypes, masterordering / subjectim /
   sharedix / CSV consistency, ROI labels against the ctabs, the brain mask, invalid voxels.
4. The model: the projections recomputed with NumPy from the features; betas minus the
   noiseless prediction and drift have the stated noise sd; repeat-averaged z-scored betas
   correlate with the prediction in ROI voxels and not outside nsdgeneral; NSD's ncsnr
   computed from the betas matches ncsnr.nii.gz.
5. Bad parameters and inputs: exit status 2, a clear error, no output folder.

usage: check_synth_brain.py BMC_SYNTH BMC_EXTRACT_CLIP MPIEXEC
"""
import csv, filecmp, json, os, subprocess, sys, tempfile

import h5py
import nibabel as nib
import numpy as np
import scipy.io as sio

synth, extract, mpiexec = sys.argv[1], sys.argv[2], sys.argv[3]
passed = failed = 0

ROIS = {"nsdgeneral": ["nsdgeneral"],
        "prf-visualrois": ["V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "hV4"],
        "floc-bodies": ["EBA", "FBA-1", "FBA-2", "mTL-bodies"],
        "floc-faces": ["OFA", "FFA-1", "FFA-2", "mTL-faces", "aTL-faces"],
        "floc-places": ["OPA", "PPA", "RSC"],
        "floc-words": ["OWFA", "VWFA-1", "VWFA-2", "mfs-words", "mTL-words"]}


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        if os.environ.get("VERBOSE"):
            print("ok:", what)
    else:
        failed += 1
        print("FAILED:", what, flush=True)


def run(tmp, name, exe_args, inputs, outputs, params, np_=0):
    """np_ = 0: a singleton MPI process (no mpiexec: failing runs end in 0.1 s, not 2.5 s)."""
    cfg = os.path.join(tmp, name + ".yaml")
    with open(cfg, "w") as f:
        json.dump({"inputs": inputs, "outputs": outputs, "params": params}, f)  # JSON is YAML
    launcher = [mpiexec, "-n", str(np_)] if np_ else []
    return subprocess.run(launcher + exe_args + ["--config", cfg],
                          capture_output=True, text=True, timeout=120)


def must(p, what):
    check(p.returncode == 0, f"{what}: exit {p.returncode}: {p.stderr[-3000:]}")
    if p.returncode != 0:
        sys.exit(1)


def read_h5(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        return out, dict(f.attrs)


def tree(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


N, IPS, SHARED, SESSIONS, TPS, REPEATS = 48, 30, 8, 3, 32, 4
SUBJECTS, GRID, RANK, SNR = [1, 3], [16, 18, 14], 3, 0.8
PARAMS = {"subjects": SUBJECTS, "images_per_subject": IPS, "shared_images": SHARED,
          "sessions": SESSIONS, "trials_per_session": TPS, "repeats": REPEATS, "grid": GRID,
          "rank": RANK, "snr": SNR, "drift": 0.5, "invalid_fraction": 0.02, "seed": 5}

with tempfile.TemporaryDirectory() as tmp:
    J = lambda *a: os.path.join(tmp, *a)
    # ---- 1. inputs ----
    must(run(tmp, "stim", [synth, "stimuli"], {}, {"images": J("stim.h5")},
             {"n_images": N, "height": 32, "width": 32, "n_categories": 6, "seed": 3}), "stimuli")
    must(run(tmp, "stim40", [synth, "stimuli"], {}, {"images": J("stim40.h5")},
             {"n_images": 40, "height": 32, "width": 32}), "stimuli (40)")
    must(run(tmp, "weights", [synth, "clip-weights"], {},
             {"weights": J("w.safetensors"), "config": J("config.json")},
             {"image_size": 28, "patch_size": 14, "hidden_size": 32, "num_layers": 2, "num_heads": 2,
              "projection_dim": 16, "seed": 1}), "clip-weights")
    must(run(tmp, "clip", [extract], {"images": J("stim.h5"), "weights": J("w.safetensors")},
             {"features": J("clip.h5")}, {"outputs": ["detail", "semantic"], "detail_layers": [1, 1]}),
         "extract-clip")
    inputs = {"stimuli": J("stim.h5"), "features": J("clip.h5")}

    # ---- 2. 1 and 2 ranks ----
    os.makedirs(J("nsd1.partial", "junk"))                 # stale partial of an interrupted
    open(J("nsd1.partial", ".bmc-partial"), "w").close()  # run (marked): removed first
    os.makedirs(J("nsd2", "old"))                          # an older tree of ours (its
    with open(J("nsd2.fingerprint"), "w") as f:            # sidecar lists what it holds):
        f.write("none\ndir old\n")                          # replaced
    os.makedirs(J("mine"))                                 # a user's folder: refused, kept
    with open(J("mine", "notes.txt"), "w") as f:
        f.write("my notes\n")
    p = run(tmp, "brain_mine", [synth, "brain"], inputs, {"nsd_root": J("mine")}, PARAMS)
    check(p.returncode == 2 and "carries no brainmclip stamp" in p.stderr,
          f"a folder brainmclip did not write is refused: {p.stderr[-500:]}")
    check(open(J("mine", "notes.txt")).read() == "my notes\n" and not os.path.exists(J("mine.partial")),
          "the user's file survives and nothing was started")
    for np_ in (1, 2):
        must(run(tmp, f"brain{np_}", [synth, "brain"], inputs, {"nsd_root": J(f"nsd{np_}")}, PARAMS,
                 np_), f"brain on {np_} ranks")
        check(not os.path.exists(J(f"nsd{np_}.partial")), f"np={np_}: no .partial folder left")
    r1, r2 = J("nsd1"), J("nsd2")
    files = tree(r1)
    expected = ["nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5",
                "nsddata/experiments/nsd/nsd_expdesign.mat",
                "nsddata/experiments/nsd/nsd_stim_info_merged.csv"]
    for s in SUBJECTS:
        expected += [f"groundtruth/subj{s:02d}.h5", f"nsddata/ppdata/subj{s:02d}/func1pt8mm/ncsnr.nii.gz"]
        expected += [f"nsddata_betas/ppdata/subj{s:02d}/func1pt8mm/betas_fithrf_GLMdenoise_RR/"
                     f"betas_session{k:02d}.hdf5" for k in range(1, SESSIONS + 1)]
        for roi in ROIS:
            expected += [f"nsddata/ppdata/subj{s:02d}/func1pt8mm/roi/{roi}.nii.gz",
                         f"nsddata/freesurfer/subj{s:02d}/label/{roi}.mgz.ctab"]
    check(files == sorted(expected), f"file list: {sorted(set(files) ^ set(expected))}")
    check(tree(r2) == files, "2 ranks: same files (older tree replaced)")
    same = True
    for rel in files:
        a, b = os.path.join(r1, rel), os.path.join(r2, rel)
        if rel.endswith(".hdf5") or rel.endswith(".h5"):
            (da, aa), (db, ab) = read_h5(a), read_h5(b)
            ok = da.keys() == db.keys() and all(np.array_equal(da[k], db[k]) for k in da)
            ok = ok and int(aa.get("mpi_size", 1)) in (1, 2)
        elif rel.endswith(".nii.gz"):
            ia, ib = nib.load(a), nib.load(b)
            ok = (np.array_equal(np.asanyarray(ia.dataobj), np.asanyarray(ib.dataobj)) and
                  ia.header.get_data_dtype() == ib.header.get_data_dtype() and
                  np.array_equal(ia.affine, ib.affine))
        elif rel.endswith(".mat"):
            ma, mb = sio.loadmat(a), sio.loadmat(b)
            ok = all(np.array_equal(ma[k], mb[k]) for k in ("masterordering", "subjectim", "sharedix"))
        else:
            ok = filecmp.cmp(a, b, shallow=False)
        if not ok:
            print("differs between 1 and 2 ranks:", rel)
        same &= ok
    check(same, "1 and 2 ranks write identical data in every file")
    check(filecmp.cmp(J("stim.h5"), os.path.join(r1, expected[0]), shallow=False), "stimuli copied")

    # ---- 3. NSD's layout ----
    m = sio.loadmat(os.path.join(r1, "nsddata/experiments/nsd/nsd_expdesign.mat"))
    mo, si, sh = m["masterordering"], m["subjectim"], m["sharedix"]
    check(mo.shape == (1, SESSIONS * TPS) and si.shape == (8, IPS) and sh.shape == (1, SHARED),
          f"expdesign shapes {mo.shape} {si.shape} {sh.shape}")
    mo, sh = mo[0].astype(int), sh[0].astype(int)
    counts = np.bincount(mo, minlength=IPS + 1)[1:]
    base, extra = divmod(SESSIONS * TPS, IPS)
    check(mo.min() >= 1 and mo.max() <= IPS and
          list(counts) == [base + (k < extra) for k in range(IPS)] and counts.max() <= REPEATS,
          f"masterordering repeats {counts}")
    check(list(sh) == sorted(set(sh)) and sh.min() >= 1 and sh.max() <= N, "sharedix sorted, 1-based")
    for s in range(1, 9):
        row = si[s - 1].astype(int)
        if s in SUBJECTS:
            check(list(row[:SHARED]) == list(sh), f"subj{s}: shared images first")
            check(len(set(row)) == IPS and row.min() >= 1 and row.max() <= N and
                  not set(row[SHARED:]) & set(sh), f"subj{s}: distinct 1-based ids, unique ones not shared")
        else:
            check(not row.any(), f"subjectim row {s} (not synthesised) is zero")
    with open(os.path.join(r1, "nsddata/experiments/nsd/nsd_stim_info_merged.csv")) as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == N and [int(r["nsdId"]) for r in rows] == list(range(N)), "csv: one row per stimulus")
    check({int(r["nsdId"]) for r in rows if r["shared1000"] == "True"} == set(sh - 1), "csv: shared1000")
    for s in range(1, 9):
        shown = {int(r["nsdId"]) for r in rows if r[f"subject{s}"] == "1"}
        check(shown == set(si[s - 1].astype(int) - 1) - {-1}, f"csv: subject{s} flags")
    s0 = SUBJECTS[0]
    ok = True
    for k in range(IPS):
        r = rows[int(si[s0 - 1, k]) - 1]
        reps = [int(r[f"subject{s0}_rep{j}"]) for j in range(base + (extra > 0))]
        ok &= [t for t in reps if t] == list(np.nonzero(mo == k + 1)[0] + 1)
    check(ok, "csv: rep columns are the 1-based trials of each image")

    feats, _ = read_h5(J("clip.h5"))
    for s in SUBJECTS:
        func = os.path.join(r1, f"nsddata/ppdata/subj{s:02d}/func1pt8mm")
        gt, gattrs = read_h5(os.path.join(r1, f"groundtruth/subj{s:02d}.h5"))
        X, Y, Z = (int(v) for v in gattrs["grid"])
        check(all(abs(g - b) <= 2 for g, b in zip((X, Y, Z), GRID)), f"subj{s}: grid {X, Y, Z} near {GRID}")
        check(gattrs["format"] == "bmc.groundtruth", "groundtruth format")
        vols = {}
        for roi, names in ROIS.items():
            img = nib.load(os.path.join(func, "roi", roi + ".nii.gz"))
            d = np.asanyarray(img.dataobj)
            vols[roi] = d
            check(isinstance(img, nib.Nifti1Image) and d.shape == (X, Y, Z) and
                  d.dtype.kind == "i", f"subj{s} {roi}: NIfTI-1 int (X,Y,Z), got {d.shape} {d.dtype}")
            check(np.allclose(np.abs(np.diag(img.affine))[:3], 1.8) and img.header["sform_code"] > 0,
                  f"subj{s} {roi}: 1.8 mm voxels with an sform")
            with open(os.path.join(r1, f"nsddata/freesurfer/subj{s:02d}/label/{roi}.mgz.ctab")) as f:
                ctab = [line.split() for line in f if line.strip()]
            check(ctab == [["0", "Unknown"]] + [[str(i + 1), n] for i, n in enumerate(names)],
                  f"subj{s} {roi}: ctab {ctab}")
            labels = set(np.unique(d)) - {-1, 0}
            check(labels == set(range(1, len(names) + 1)), f"subj{s} {roi}: labels {labels}")
        mask = vols["nsdgeneral"] >= 0
        check(all(np.array_equal(v >= 0, mask) for v in vols.values()), f"subj{s}: one brain mask")
        ng = vols["nsdgeneral"] == 1
        check(not (vols["prf-visualrois"] > 0)[~ng].any(), f"subj{s}: prf ROIs inside nsdgeneral")
        floc = np.any([vols[r] > 0 for r in ROIS if r.startswith("floc")], axis=0)
        check((floc & ng).sum() > 0.5 * floc.sum(), f"subj{s}: floc ROIs mostly inside nsdgeneral")
        check(0.2 < mask.mean() < 0.5 and 0.15 < ng[mask].mean() < 0.6, f"subj{s}: mask sizes")

        ijk = gt["voxels/ijk"]
        lin = ijk[:, 0] + X * (ijk[:, 1] + Y * ijk[:, 2])
        check(np.array_equal(np.sort(lin), lin) and
              np.array_equal(np.flatnonzero(mask.reshape(-1, order="F")), lin), f"subj{s}: gt voxels = brain")
        x, y, z = ijk.T
        kind = gt["voxels/kind"]
        check(np.array_equal(kind == 1, vols["prf-visualrois"][x, y, z] > 0) and
              np.array_equal(kind == 0, ~ng[x, y, z] & ~floc[x, y, z]), f"subj{s}: voxel kinds follow ROIs")
        nc = np.asanyarray(nib.load(os.path.join(func, "ncsnr.nii.gz")).dataobj)
        check(nc.dtype == np.float32 and nc.shape == (X, Y, Z) and not nc[~mask].any() and
              np.allclose(nc[x, y, z], gt["voxels/signal_sd"] / gt["voxels/noise_sd"], rtol=1e-6),
              f"subj{s}: ncsnr.nii.gz = signal sd / noise sd")

        # ---- 4. the model ----
        ids = gt["image_ids"]
        check(np.array_equal(ids, si[s - 1].astype(int) - 1), f"subj{s}: gt image ids = subjectim")
        order = np.argsort(feats["image_ids"])
        P = {}
        for g in ("detail", "semantic"):
            F = feats[g][order].reshape(N, -1).astype(np.float64)
            sd = F.std(axis=0)
            Zf = np.where(sd > 0, (F - F.mean(axis=0)) / np.where(sd > 0, sd, 1), 0)
            P[g] = Zf[ids] @ gt[f"projection/{g}"]
            check(gt[f"projection/{g}"].shape == (F.shape[1], RANK) and
                  np.allclose(P[g], gt[f"projected/{g}"], rtol=1e-8, atol=1e-9), f"subj{s}: P_{g} = z(F) A")
        raw = P["detail"] @ gt["voxels/coef_detail"].T + P["semantic"] @ gt["voxels/coef_semantic"].T
        sig = gt["voxels/signal_scale"] * (raw - gt["voxels/signal_mean"])   # [images, voxels]
        target = np.array([0, 1, 1, 0.3])[kind]
        check(np.allclose(sig.std(axis=0), target, atol=1e-9), f"subj{s}: signal sd 1 / 0.3 / 0")
        betas = []
        for k in range(SESSIONS):
            with h5py.File(os.path.join(r1, f"nsddata_betas/ppdata/subj{s:02d}/func1pt8mm/"
                                            f"betas_fithrf_GLMdenoise_RR/betas_session{k + 1:02d}.hdf5")) as f:
                b = f["betas"]
                check(b.dtype == np.int16 and b.shape == (TPS, Z, Y, X), f"betas {b.shape} {b.dtype}")
                betas.append(b[()])
        B = np.concatenate(betas)                             # [trials, Z, Y, X]
        check(not B[:, ~mask.T].any(), f"subj{s}: betas 0 outside the brain")
        V = B[:, z, y, x].astype(np.float64)                  # [trials, voxels]
        ses = np.arange(SESSIONS * TPS) // TPS
        inv = gt["voxels/invalid"].astype(bool)               # [voxels, sessions]
        zero = np.stack([(V[ses == k] == 0).all(axis=0) for k in range(SESSIONS)], axis=1)
        check(np.array_equal(zero, inv), f"subj{s}: betas all 0 exactly in the invalid (voxel, session) pairs")
        n_inv = inv.any(axis=1).sum()
        check(n_inv == max(1, round(0.02 * len(lin))), f"subj{s}: {n_inv} invalid voxels")
        good = ~inv.any(axis=1)
        resp = (V / 300 - 2) / 1.5
        resid = (resp - sig[mo - 1] - gt["voxels/drift"][:, ses].T)[:, good] / gt["voxels/noise_sd"][good]
        check(abs(resid.mean()) < 0.02 and abs(resid.std() - 1) < 0.03,
              f"subj{s}: noise mean {resid.mean():.3f} sd {resid.std():.3f} (want 0, 1)")
        # NSD ingest: z-score per session, average repeats; ncsnr from repeats.
        Zb = np.concatenate([(V[ses == k] - V[ses == k].mean(0)) / (V[ses == k].std(0) + 1e-12)
                             for k in range(SESSIONS)])
        avg = np.stack([Zb[mo == k + 1].mean(0) for k in range(IPS)])
        sc = sig - sig.mean(0)
        ac = avg - avg.mean(0)
        r = (sc * ac).sum(0) / np.sqrt((sc ** 2).sum(0) * (ac ** 2).sum(0) + 1e-30)
        roi_v, noise_v = good & np.isin(kind, [1, 2]), good & (kind == 0)
        check(r[roi_v].mean() > 0.4, f"subj{s}: ROI voxels follow the model (mean r {r[roi_v].mean():.2f})")
        rn = np.corrcoef(avg[:, noise_v].T, sig[:, roi_v].T[:1])[-1, :-1]  # vs an unrelated signal
        check(abs(rn.mean()) < 0.1, f"subj{s}: noise voxels do not (mean r {rn.mean():.2f})")
        multi = [k for k in range(IPS) if counts[k] >= 2]
        nv = np.mean([Zb[mo == k + 1][:, good].var(0, ddof=1) for k in multi], axis=0)
        emp = np.zeros(len(lin))
        emp[good] = np.sqrt(np.maximum(0, 1 - nv)) / np.sqrt(nv)
        true = nc[x, y, z]
        ratio = np.median(emp[roi_v]) / np.median(true[roi_v])
        check(0.75 < ratio < 1.33, f"subj{s}: NSD ncsnr of ROI voxels / file = {ratio:.2f}")
        check(np.corrcoef(emp[good], true[good])[0, 1] > 0.6 and np.median(emp[noise_v]) < 0.3,
              f"subj{s}: ncsnr map follows the file")

    # ---- 5. bad parameters and inputs ----
    bad = [({"shared_images": 31}, inputs, "shared_images"),
           ({"images_per_subject": 60, "shared_images": 8}, inputs, "images_per_subject"),
           ({"trials_per_session": 45}, inputs, "trials_per_session"),
           ({"subjects": [1, 9]}, inputs, "subjects"),
           ({"subjects": [2, 2]}, inputs, "subjects"),
           ({"grid": [4, 18, 14]}, inputs, "grid"),
           ({"snr": 0}, inputs, "snr"),
           ({"snrr": 1}, inputs, "did you mean 'snr'"),
           ({}, {"stimuli": J("stim40.h5"), "features": J("clip.h5")}, "/detail"),
           ({}, {"stimuli": J("clip.h5"), "features": J("clip.h5")}, "imgBrick")]
    for i, (change, ins, word) in enumerate(bad):
        root = J(f"bad{i}")
        np_ = 2 if i == len(bad) - 2 else 0   # one agreed error on 2 ranks
        p = run(tmp, f"bad{i}", [synth, "brain"], ins, {"nsd_root": root}, dict(PARAMS, **change), np_)
        check(p.returncode == 2 and "error:" in p.stderr and word in p.stderr,
              f"bad {change or ins}: exit {p.returncode}, stderr {p.stderr[-600:]}")
        check(not os.path.exists(root) and not os.path.exists(root + ".partial"), f"bad {change}: no output")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
