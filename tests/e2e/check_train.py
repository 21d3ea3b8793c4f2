#!/usr/bin/env python3
"""check_train.py — bmc-train end to end, through its command line.

Writes a small bmc.fmri file (groups `detail` with more voxels than training images, so its
decoder is dual, and `semantic`, primal) and a bmc.clip file (detail [N,5,6], semantic [N,5,4],
pooled [N,4]; rows shuffled and extra images, so ids must be matched) with h5py, voxels being
a known linear function of the features plus noise. Then:

  parity  decoders vs scikit-learn RidgeCV(alpha_per_target=True) on the same matched data:
          test predictions from the model file, chosen α identical, LOO scores, intercepts,
          Brain-Diffuser statistics; encoding R² per voxel (self and cross maps) and per ROI vs
          NumPy; NIfTI maps read with nibabel hold R² at each voxel's ijk; a pooled mapping and
          a non-contiguous token list; token and group granularity; voxel weighting and
          selection; float32 storage; score_precision mixed (default: LOO scores of dual
          mappings to 1e-6, penalties identical) and double (scores to 1e-8); 1, 2 and 4
          ranks give the same numbers (to rounding)
  bad     NaN in X, Inf in Y, mismatched image ids, a constant voxel, an empty group (missing
          or zero voxels), invalid penalty grids, a missing CLIP dataset, a memory budget
          below the solver's minimum: exit 2, one message, no model, no .partial

usage: check_train.py BMC_TRAIN [--only parity|bad]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import nibabel as nib
import numpy as np
from sklearn.linear_model import RidgeCV

exe = sys.argv[1]
only = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--only" else None
passed = failed = 0
ALPHAS = list(np.logspace(-2, 5, 15))
GRID = (9, 8, 7)


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what, flush=True)


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def make_data(tmp, rng):
    """bmc.fmri and bmc.clip files; returns their paths and the arrays."""
    ntr, nte, T = 60, 20, 5
    ids_all = rng.permutation(200)[:90]                  # image ids of the features file
    tr_ids = np.sort(ids_all[:ntr])
    te_ids = np.sort(ids_all[ntr:ntr + nte])
    N = len(ids_all)
    feat = {"detail": rng.standard_normal((N, T, 6)).astype(np.float32),
            "semantic": rng.standard_normal((N, T, 4)).astype(np.float32)}
    feat["pooled"] = (feat["semantic"][:, 0, :] * 0.7 + 0.3 * rng.standard_normal((N, 4))).astype(np.float32)
    order = {int(i): k for k, i in enumerate(ids_all)}
    fmri = {}
    sizes = {"detail": 80, "semantic": 25}
    cells = rng.permutation(np.prod(GRID))[:sum(sizes.values())]
    ijk_all = np.stack(np.unravel_index(cells, GRID, order="F"), 1).astype(np.int32)
    k0 = 0
    for g, p in sizes.items():
        src = feat[g].reshape(N, -1)
        A = rng.standard_normal((src.shape[1], p)) * (rng.random((src.shape[1], p)) < 0.4)
        vox = src @ A + 0.8 * rng.standard_normal((N, p))
        fmri[g] = dict(train=vox[[order[i] for i in tr_ids]].astype(np.float32),
                       test=vox[[order[i] for i in te_ids]].astype(np.float32),
                       ijk=ijk_all[k0:k0 + p], roi=(np.arange(p) % 3).astype(np.int32))
        k0 += p
    fpath, cpath = os.path.join(tmp, "fmri_subj01.h5"), os.path.join(tmp, "clip.h5")
    write_fmri(fpath, tr_ids, te_ids, fmri)
    write_clip(cpath, ids_all, feat)
    return fpath, cpath, dict(tr=tr_ids, te=te_ids, ids=ids_all, feat=feat, fmri=fmri, order=order)


def write_fmri(path, tr_ids, te_ids, fmri, extra=None):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "bmc.fmri"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["subject"] = np.int64(1)
        f.attrs["grid"] = np.array(GRID, np.int64)
        f.attrs["groups"] = "\n".join(fmri)
        f.attrs["zscore"] = "session"
        f["train/image_ids"] = np.asarray(tr_ids, np.int64)
        f["test/image_ids"] = np.asarray(te_ids, np.int64)
        for g, d in fmri.items():
            f["train/" + g] = d["train"]
            f["test/" + g] = d["test"]
            f["voxels/%s/ijk" % g] = d["ijk"]
            f["voxels/%s/roi" % g] = d["roi"]
            f["voxels/%s/label" % g] = d["roi"] + 1
            f["voxels/" + g].attrs["rois"] = "a.nii.gz:A\nb.nii.gz:B\nc.nii.gz:C"


def write_clip(path, ids, feat):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "bmc.clip"
        f.attrs["format_version"] = np.int64(1)
        f["image_ids"] = np.asarray(ids, np.int64)
        for k, v in feat.items():
            f[k] = v


def run(tmp, name, fpath, cpath, params, np_=1, maps=True):
    cfg = os.path.join(tmp, name + ".yaml")
    out = os.path.join(tmp, name + ".h5")
    outputs = {"model": out}
    if maps:
        outputs["maps"] = os.path.join(tmp, name + "_maps")
    with open(cfg, "w") as f:
        json.dump({"inputs": {"fmri": fpath, "features": cpath}, "outputs": outputs,
                   "params": params}, f)
    env = dict(os.environ, OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,vader")
    cmd = ([exe] if np_ == 1 else ["mpiexec", "-n", str(np_), exe]) + ["--config", cfg]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    return r, out, outputs.get("maps")


def read_all(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def model_predict(f, name, Xt):
    g = f["mappings/" + name]
    X = Xt[:, g["voxel_index"][:]] * g["voxel_scale"][:]
    if g.attrs["form"] == "dual":
        W = g["X_train_centred"][:].astype(float).T @ g["dual_coef"][:].astype(float)
    else:
        W = g["W"][:].astype(float)
    return X @ W + g["intercept"][:]


def matched(d, group, dataset, tokens=None, split="train"):
    ids = d["tr"] if split == "train" else d["te"]
    rows = [d["order"][int(i)] for i in ids]
    Y = d["feat"][dataset][rows].astype(float)
    if Y.ndim == 3:
        if tokens is not None:
            Y = Y[:, tokens, :]
        Y = Y.reshape(len(rows), -1)
    return d["fmri"][group][split].astype(float), Y


def check_decoder(f, name, d, group, dataset, tokens=None, tol=1e-6):
    X, Y = matched(d, group, dataset, tokens)
    Xt, _ = matched(d, group, dataset, tokens, "test")
    sk = RidgeCV(alphas=ALPHAS, alpha_per_target=True, store_cv_values=True).fit(X, Y)
    g = f["mappings/" + name]
    check(np.array_equal(g["alpha"][:], sk.alpha_), f"{name}: chosen alpha == sklearn")
    check(rel(model_predict(f, name, Xt), sk.predict(Xt)) < tol,
          f"{name}: test predictions vs sklearn ({rel(model_predict(f, name, Xt), sk.predict(Xt)):.2e})")
    check(rel(g["intercept"][:], sk.intercept_) < 1e-6, f"{name}: intercepts")
    # score_precision mixed (the default) screens dual LOO in float32: its stored scores carry
    # float32 rounding; the chosen penalties (above) are float64's either way.
    mixed = g.attrs["score_precision"] == "mixed"
    want_mixed = g.attrs["form"] == "dual" and g.attrs["granularity"] == "target" and \
        f.attrs.get("test_precision", "mixed") == "mixed"
    check(mixed == want_mixed, f"{name}: score_precision {g.attrs['score_precision']}")
    stol = 1e-6 if mixed else 1e-8
    err = rel(g["scores"][:], sk.cv_values_.mean(0).T)
    check(err < stol, f"{name}: LOO scores ({err:.1e}, {g.attrs['score_precision']})")
    P = sk.predict(X)
    for k, v in (("y_train_mean", Y.mean(0)), ("y_train_std", Y.std(0)),
                 ("pred_train_mean", P.mean(0)), ("pred_train_std", P.std(0))):
        check(rel(g[k][:], v) < 1e-6, f"{name}: {k}")
    check(np.array_equal(g["train_image_ids"][:], d["tr"]), f"{name}: train ids")
    return sk


def check_encoding(f, maps, name, d, dataset, group):
    Xf, _ = matched(d, group, dataset)
    Yf = Xf
    _, F = matched(d, group, dataset)
    _, Ft = matched(d, group, dataset, split="test")
    Yt = d["fmri"][group]["test"].astype(float)
    sk = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(F, Yf)
    P = sk.predict(Ft)
    r2 = 1 - ((Yt - P) ** 2).sum(0) / ((Yt - Yt.mean(0)) ** 2).sum(0)
    e = f["encoding/" + name]
    check(np.max(np.abs(e["r2"][:] - r2)) < 1e-6, f"encoding {name}: R² per voxel vs sklearn")
    check(np.array_equal(e["alpha"][:], sk.alpha_), f"encoding {name}: alpha")
    roi = d["fmri"][group]["roi"]
    ref_roi = [r2[roi == k].mean() for k in range(3)]
    check(rel(e["roi_r2"][:], ref_roi) < 1e-9, f"encoding {name}: ROI means")
    if maps:
        img = nib.load(os.path.join(maps, f"encoding_r2_{name}.nii.gz"))
        vol = np.asarray(img.dataobj)
        ijk = d["fmri"][group]["ijk"]
        ok = vol.shape == GRID and vol.dtype == np.float32
        ok = ok and np.allclose(vol[ijk[:, 0], ijk[:, 1], ijk[:, 2]], r2, atol=1e-6)
        check(ok and np.isnan(vol).sum() == np.prod(GRID) - len(ijk), f"NIfTI map {name}")
    return r2


def parity(tmp):
    rng = np.random.default_rng(7)
    fpath, cpath, d = make_data(tmp, rng)
    base = {"alphas": ALPHAS, "dtype": "float64",
            "mappings": {"detail": {"x": "detail", "y": "detail"},
                         "semantic": {"x": "semantic", "y": "semantic"},
                         "pooled": {"x": "semantic", "y": "pooled"},
                         "some_tokens": {"x": "detail", "y": "detail", "tokens": [0, 2, 3]}}}
    outs = {}
    for np_ in (1, 2, 4):
        r, out, maps = run(tmp, f"np{np_}", fpath, cpath, base, np_)
        check(r.returncode == 0, f"np{np_}: exit 0 ({r.stderr[-2000:]})")
        if r.returncode:
            return
        outs[np_] = (out, maps)
    with h5py.File(outs[1][0]) as f:
        check(f.attrs["format"] == "bmc.model", "format attribute")
        check(f["mappings/detail"].attrs["form"] == "dual", "detail decoder is dual (p > n)")
        check(f["mappings/semantic"].attrs["form"] == "primal", "semantic decoder is primal")
        check_decoder(f, "detail", d, "detail", "detail")
        check_decoder(f, "semantic", d, "semantic", "semantic")
        check_decoder(f, "pooled", d, "semantic", "pooled")
        check_decoder(f, "some_tokens", d, "detail", "detail", tokens=[0, 2, 3])
        r2 = {}
        for ds, g in (("detail", "detail"), ("semantic", "semantic"), ("semantic", "detail"),
                      ("detail", "semantic"), ("pooled", "semantic"), ("pooled", "detail")):
            nm = f"{ds}_to_{g}"
            check(nm in f["encoding"], f"encoding map {nm} present")
            if nm in f["encoding"]:
                r2[nm] = check_encoding(f, outs[1][1], nm, d, ds, g)
        check(np.mean(r2["detail_to_detail"]) > 0.3 and np.mean(r2["semantic_to_semantic"]) > 0.3,
              "self encoding R² clearly positive")
        check(np.mean(r2["semantic_to_detail"]) < np.mean(r2["detail_to_detail"]),
              "cross map explains less than the self map")
    a = read_all(outs[1][0])
    for np_ in (2, 4):
        b = read_all(outs[np_][0])
        check(a.keys() == b.keys(), f"np{np_}: same datasets")
        diff = {k: (rel(b[k], a[k]) if a[k].dtype.kind == "f" else float(not np.array_equal(a[k], b[k])))
                for k in a if k in b}
        # float32-screened LOO scores (dual mappings) follow the GEMM's summation order
        mixed = {k for k in diff if k.endswith("/scores") and k.split("/")[1] in ("detail", "some_tokens")}
        check(all(diff[k] < 1e-6 for k in mixed), f"np{np_}: screened scores as 1 rank to 1e-6")
        for k in mixed:
            diff[k] = 0.0
        worst = max(diff, key=diff.get)
        check(diff[worst] < 1e-9, f"np{np_}: same numbers as 1 rank (worst {worst}: {diff[worst]:.1e})")
        if diff[worst] >= 1e-9:
            print("  largest differences:", sorted(diff.items(), key=lambda kv: -kv[1])[:6])

    # float32 storage, `only`, token and group granularity.
    p32 = dict(base, dtype="float32", only=["detail", "some_tokens"], encoding=False)
    r, out, _ = run(tmp, "f32", fpath, cpath, p32, 2)
    check(r.returncode == 0, f"float32: exit 0 ({r.stderr[-1500:]})")
    if r.returncode == 0:
        with h5py.File(out) as f:
            check(list(f["mappings"]) == ["detail", "some_tokens"], "only: runs the named mappings")
            check_decoder(f, "detail", d, "detail", "detail", tol=1e-5)
            check_decoder(f, "some_tokens", d, "detail", "detail", tokens=[0, 2, 3], tol=1e-5)
    # score_precision double: every score float64, equal to scikit-learn's to 1e-8
    pd = dict(base, score_precision="double", only=["detail", "some_tokens"], encoding=False)
    r, out, _ = run(tmp, "double", fpath, cpath, pd, 2, maps=False)
    check(r.returncode == 0, f"double: exit 0 ({r.stderr[-1500:]})")
    if r.returncode == 0:
        with h5py.File(out, "r+") as f:
            f.attrs["test_precision"] = "double"
            check_decoder(f, "detail", d, "detail", "detail")
            check_decoder(f, "some_tokens", d, "detail", "detail", tokens=[0, 2, 3])
    for grain in ("token", "group"):
        pg = dict(base, granularity=grain, only=["detail"], encoding=False)
        r, out, _ = run(tmp, grain, fpath, cpath, pg, 2, maps=False)
        check(r.returncode == 0, f"{grain}: exit 0 ({r.stderr[-1500:]})")
        if r.returncode:
            continue
        with h5py.File(out) as f:
            g = f["mappings/detail"]
            S, idx = g["scores"][:], g["alpha_index"][:]
            if grain == "token":
                want = np.repeat(np.argmin(S.reshape(len(ALPHAS), 5, 6).sum(2), 0), 6)
            else:
                fine = np.arange(30) >= 6
                Sg = [S[:, ~fine].mean(1), S[:, fine].mean(1)]
                want = np.full(30, np.argmin(sum(s / s.min() for s in Sg)))
            check(np.array_equal(idx, want), f"{grain}: α choice from the stored curves")
            X, Y = matched(d, "detail", "detail")
            Xt, _ = matched(d, "detail", "detail", split="test")
            P = np.column_stack([RidgeCV(alphas=[ALPHAS[idx[k]]]).fit(X, Y[:, k]).predict(Xt)
                                 for k in range(30)])
            check(rel(model_predict(f, "detail", Xt), P) < 1e-6, f"{grain}: predictions")
            check("encoding" not in f, f"{grain}: encoding: false writes no encoding")
    # Voxel weighting and selection from the self encoding map.
    for mode in ("weight", "select"):
        pv = dict(base, voxel_weighting=mode, r2_threshold=0.2, only=["detail"])
        r, out, _ = run(tmp, "vw_" + mode, fpath, cpath, pv, 1, maps=False)
        check(r.returncode == 0, f"voxel_weighting {mode}: exit 0 ({r.stderr[-1500:]})")
        if r.returncode:
            continue
        with h5py.File(out) as f:
            r2 = f["encoding/detail_to_detail/r2"][:]
            keep = np.nonzero(r2 > (0.2 if mode == "select" else 0))[0]
            g = f["mappings/detail"]
            check(np.array_equal(g["voxel_index"][:], keep), f"{mode}: voxels kept")
            sc = r2[keep] if mode == "weight" else np.ones(len(keep))
            check(rel(g["voxel_scale"][:], sc) < 1e-12, f"{mode}: voxel scale")
            X, Y = matched(d, "detail", "detail")
            Xt, _ = matched(d, "detail", "detail", split="test")
            sk = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(X[:, keep] * sc, Y)
            check(rel(model_predict(f, "detail", Xt), sk.predict(Xt[:, keep] * sc)) < 1e-6,
                  f"{mode}: predictions vs sklearn on weighted voxels")


def expect_error(tmp, name, fpath, cpath, params, words, np_=2):
    r, out, maps = run(tmp, name, fpath, cpath, params, np_)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    check(r.returncode == 2, f"{name}: exit 2 (got {r.returncode}: {r.stderr[-800:]})")
    check(len(lines) == 1, f"{name}: one error message ({len(lines)}: {r.stderr[-800:]})")
    msg = lines[0] if lines else ""
    for w in words:
        check(w in msg, f"{name}: message names '{w}': {msg}")
    leftovers = [p for p in (out, out + ".partial", maps, maps + ".partial") if os.path.exists(p)]
    check(not leftovers, f"{name}: no output left ({leftovers})")


def bad(tmp):
    rng = np.random.default_rng(3)
    fpath, cpath, d = make_data(tmp, rng)
    P = {"alphas": [0.1, 1.0, 10.0]}

    def variant(tag, fmri_edit=None, feat_edit=None, ids_edit=None):
        fm = {g: {k: v.copy() for k, v in x.items()} for g, x in d["fmri"].items()}
        ft = {k: v.copy() for k, v in d["feat"].items()}
        ids = d["ids"].copy()
        if fmri_edit:
            fmri_edit(fm)
        if feat_edit:
            feat_edit(ft)
        if ids_edit:
            ids = ids_edit(ids)
        fp, cp = os.path.join(tmp, tag + "_fmri.h5"), os.path.join(tmp, tag + "_clip.h5")
        write_fmri(fp, d["tr"], d["te"], fm)
        write_clip(cp, ids, ft)
        return fp, cp

    def nan_x(fm):
        fm["detail"]["train"][3, 5] = np.nan
    fp, cp = variant("nanx", fmri_edit=nan_x)
    expect_error(tmp, "nan_x", fp, cp, P, ["/train/detail", "not finite", str(d["tr"][3])])

    row = d["order"][int(d["tr"][10])]

    def inf_y(ft):
        ft["semantic"][row, 1, 2] = np.inf
    fp, cp = variant("infy", feat_edit=inf_y)
    expect_error(tmp, "inf_y", fp, cp, dict(P, encoding=False),
                 ["/semantic", "not finite", str(d["tr"][10])])

    def bad_ids(ids):
        ids = ids.copy()
        ids[d["order"][int(d["tr"][7])]] = 999
        return ids
    fp, cp = variant("ids", ids_edit=bad_ids)
    expect_error(tmp, "mismatched_ids", fp, cp, P,
                 ["do not match", str(d["tr"][7]), "ids_fmri.h5", "ids_clip.h5"])

    def const(fm):
        fm["detail"]["train"][:, 7] = 0.5
    fp, cp = variant("const", fmri_edit=const)
    ijk = d["fmri"]["detail"]["ijk"][7]
    expect_error(tmp, "zero_variance", fp, cp, P,
                 ["1 voxel", "zero variance", "(%d, %d, %d)" % tuple(ijk)])

    expect_error(tmp, "missing_group", fpath, cpath,
                 dict(P, mappings={"m": {"x": "nosuch", "y": "detail"}}), ["'nosuch'", "empty"])

    def empty(fm):
        fm["semantic"] = dict(train=np.zeros((60, 0), np.float32), test=np.zeros((20, 0), np.float32),
                              ijk=np.zeros((0, 3), np.int32), roi=np.zeros(0, np.int32))
    fp, cp = variant("empty", fmri_edit=empty)
    expect_error(tmp, "zero_voxels", fp, cp, P, ["'semantic'", "empty"])

    for tag, alphas in (("decreasing", [1.0, 0.5]), ("negative", [-1.0, 1.0]), ("empty", [])):
        expect_error(tmp, "alphas_" + tag, fpath, cpath, dict(P, alphas=alphas),
                     ["invalid penalty grid"], np_=1)
    expect_error(tmp, "small_budget", fpath, cpath, dict(P, mem_per_rank="100K"),
                 ["memory budget"])
    expect_error(tmp, "missing_dataset", fpath, cpath,
                 dict(P, mappings={"m": {"x": "detail", "y": "hidden"}}), ["/hidden", "missing"])


def main():
    tmp = tempfile.mkdtemp(prefix="bmc-train-")
    try:
        if only in (None, "parity"):
            parity(tmp)
        if only in (None, "bad"):
            bad(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} checks passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
