#!/usr/bin/python3
"""check_evaluate.py — bmc-evaluate end to end, through its command line, against
eval_reference.py (NumPy / scikit-learn / scikit-image / torch on the same files).

Writes with h5py three small bmc.fmri files (subjects 1 and 2 share 24 test images and each has
a few test images of its own and 60 training images; subject 3 is a cohort member with fewer
test images; groups `detail` with more voxels than training images → dual decoder, and
`semantic` → primal; voxels a subject-specific linear mix of the features plus noise), a
bmc.clip file (rows shuffled, extra gallery-only images) and a bmc.stimuli file (smooth random
32×32 images), trains real models with bmc-train, then:

  parity  within-subject (1 on 1) and cross-subject (2 → 1) runs equal the reference: image
          sets, alignment α (exact), per-target / per-image metrics (rel ≤ 1e-6), retrieval per
          draw and retrieved ids (exact), summaries, JSON == h5 attributes, predictions file;
          rescale test/train/none, gallery not_test/unseen, ssim mindeye/2d, way < m, way > m
          (warned, recorded as m with way_requested), a cohort, one model file per mapping, a
          token subset, a 2-D target (`pooled`), a constant prediction column and
          pred_train_std = 0 (edited model), a tiny mem_per_rank (several column blocks); 1, 2
          and 3 ranks give bit-identical datasets; the montage PNG (size and tiles); noiseless
          data retrieve and identify perfectly (reference and stage)
  bad     subject mismatches (params vs models / test_fmri, models of two subjects), unknown
          mapping, cross-subject without alignment images, too many alignment images, a
          features file missing an evaluation image, a voxel count that does not match the
          model, an unknown param key, fusion_weight outside [0, 1]: exit 2, one message
          naming the problem, no output and no .partial

usage: check_evaluate.py BMC_EVALUATE BMC_TRAIN [--only parity|bad]
"""
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from scipy.ndimage import gaussian_filter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eval_reference as ref  # noqa: E402

exe, train_exe = sys.argv[1], sys.argv[2]
only = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--only" else None
passed = failed = 0
ALPHAS = list(np.logspace(-2, 5, 15))
GRID = (9, 8, 7)
T, WD, D = 5, 6, 4                       # tokens, detail width, semantic width
SIZES = {1: {"detail": 80, "semantic": 25}, 2: {"detail": 90, "semantic": 30},
         3: {"detail": 80, "semantic": 25}}
ENV = dict(os.environ, OMPI_MCA_pml="ob1", OMPI_MCA_btl="self,vader")
# bmc-evaluate loads libcairo: under the sanitizer preset LeakSanitizer's tracer crashes on a
# stale dynamic-TLS entry of cairo's libraries at 1 rank unless TLS is not scanned as a root
# (use_tls=0 can only add leak reports, never hide one).
if ENV.get("LSAN_OPTIONS"):
    ENV["LSAN_OPTIONS"] += ":use_tls=0"


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what, flush=True)
    return cond


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return np.inf
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ---- fixture ---------------------------------------------------------------------------------

def write_fmri(path, subject, tr_ids, te_ids, fmri):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "bmc.fmri"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["subject"] = np.int64(subject)
        f.attrs["grid"] = np.array(GRID, np.int64)
        f.attrs["groups"] = "\n".join(fmri)
        f.attrs["zscore"] = "session"
        f["train/image_ids"] = np.asarray(tr_ids, np.int64)
        f["test/image_ids"] = np.asarray(te_ids, np.int64)
        f["train/n_repeats"] = np.full(len(tr_ids), 3, np.int32)
        f["test/n_repeats"] = np.full(len(te_ids), 3, np.int32)
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
        f["done"] = np.ones(len(ids), np.uint8)


def write_stimuli(path, n, rng):
    noise = rng.random((n, 32, 32, 3))
    img = np.stack([gaussian_filter(noise[i], sigma=(1.5, 1.5, 0)) for i in range(n)])
    lo, hi = img.min(axis=(1, 2, 3), keepdims=True), img.max(axis=(1, 2, 3), keepdims=True)
    img = np.round(255 * (img - lo) / (hi - lo)).astype(np.uint8)
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "bmc.stimuli"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["n_categories"] = np.int64(1)
        f.attrs["seed"] = np.int64(0)
        f["imgBrick"] = img
        f["category"] = np.zeros(n, np.int32)


def make_data(tmp, rng, noise=4.0, tag=""):
    """Files of subjects 1-3, the features and the stimuli; returns a dict of paths + arrays."""
    n_stim = 400
    ids = rng.permutation(n_stim)[:169]
    shared, ex1, ex2 = ids[:24], ids[24:26], ids[26:29]
    tr = {1: ids[29:89], 2: ids[89:149], 3: ids[29:89]}
    te = {1: np.concatenate([shared, ex1]), 2: np.concatenate([shared, ex2]),
          3: shared[4:]}
    N = len(ids)
    feat = {"detail": rng.standard_normal((N, T, WD)).astype(np.float32),
            "semantic": rng.standard_normal((N, T, D)).astype(np.float32)}
    feat["pooled"] = (0.7 * feat["semantic"][:, 0, :]
                      + 0.3 * rng.standard_normal((N, D))).astype(np.float32)
    order = rng.permutation(N)                       # features file rows shuffled
    fids = ids[order]
    feat_file = {k: v[order] for k, v in feat.items()}
    pos = {int(i): k for k, i in enumerate(ids)}
    paths = {}
    for s in (1, 2, 3):
        fm = {}
        cells = rng.permutation(np.prod(GRID))[:sum(SIZES[s].values())]
        ijk = np.stack(np.unravel_index(cells, GRID, order="F"), 1).astype(np.int32)
        k0 = 0
        for g, p in SIZES[s].items():
            src = feat[g].reshape(N, -1).astype(np.float64)
            A = rng.standard_normal((src.shape[1], p))
            vox = src @ A + noise * rng.standard_normal((N, p))
            fm[g] = dict(train=vox[[pos[int(i)] for i in np.sort(tr[s])]].astype(np.float32),
                         test=vox[[pos[int(i)] for i in np.sort(te[s])]].astype(np.float32),
                         ijk=ijk[k0:k0 + p], roi=(np.arange(p) % 3).astype(np.int32))
            k0 += p
        paths[s] = os.path.join(tmp, f"{tag}fmri_subj0{s}.h5")
        write_fmri(paths[s], s, np.sort(tr[s]), np.sort(te[s]), fm)
    clip = os.path.join(tmp, tag + "clip.h5")
    write_clip(clip, fids, feat_file)
    stim = os.path.join(tmp, tag + "stimuli.h5")
    write_stimuli(stim, n_stim, rng)
    return dict(fmri=paths, clip=clip, stim=stim, ids=ids, fids=fids, feat=feat_file,
                shared=np.sort(shared), te=te, tr=tr)


def train(tmp, name, fmri, clip, only_maps=None, alphas=ALPHAS):
    """A bmc.model file trained by the real bmc-train."""
    params = {"alphas": alphas, "encoding": False,
              "mappings": {"detail": {"x": "detail", "y": "detail"},
                           "semantic": {"x": "semantic", "y": "semantic"},
                           "sem_tok": {"x": "semantic", "y": "semantic", "tokens": [1, 3, 4]},
                           "pooled": {"x": "semantic", "y": "pooled"}}}
    if only_maps:
        params["only"] = only_maps
    cfg, out = os.path.join(tmp, name + ".json"), os.path.join(tmp, name + ".h5")
    with open(cfg, "w") as f:
        json.dump({"inputs": {"fmri": fmri, "features": clip}, "outputs": {"model": out},
                   "params": params}, f)
    r = subprocess.run([train_exe, "--config", cfg], capture_output=True, text=True,
                       timeout=120, env=ENV)
    if r.returncode != 0:
        raise RuntimeError(f"bmc-train {name} failed: {r.stderr[-2000:]}")
    return out


# ---- running the stage -----------------------------------------------------------------------

def run(tmp, name, inputs, params, np_=1, montage=False, predictions=True):
    cfg = os.path.join(tmp, name + ".cfg.json")
    outputs = {"eval": os.path.join(tmp, name + ".h5"), "json": os.path.join(tmp, name + ".json")}
    if montage:
        outputs["montage"] = os.path.join(tmp, name + ".png")
    if predictions:
        outputs["predictions"] = os.path.join(tmp, name + "_pred.h5")
    with open(cfg, "w") as f:
        json.dump({"inputs": inputs, "outputs": outputs, "params": params}, f)
    cmd = ([exe] if np_ == 1 else ["mpiexec", "-n", str(np_), exe]) + ["--config", cfg]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=ENV)
    return r, outputs


def read_h5(path):
    """{dataset path: array}, {group path: attrs dict} of an HDF5 file."""
    ds, at = {}, {}

    def visit(n, o):
        if isinstance(o, h5py.Dataset):
            ds["/" + n] = o[()]
            at["/" + n] = dict(o.attrs)
        else:
            at["/" + n] = dict(o.attrs)
    with h5py.File(path, "r") as f:
        at["/"] = dict(f.attrs)
        f.visititems(visit)
    return ds, at


def _s(v):
    return v.decode() if isinstance(v, bytes) else (str(v) if isinstance(v, np.str_) else v)


def same_value(got, want, tol):
    got, want = _s(got), _s(want)
    if isinstance(want, str):
        return got == want
    if isinstance(want, (int, np.integer)):
        return np.asarray(got).size == 1 and np.asarray(got).dtype.kind in "iu" \
            and int(got) == int(want)
    if isinstance(want, np.ndarray):
        return np.array_equal(np.asarray(got), want)
    return np.asarray(got).size == 1 and abs(float(got) - float(want)) <= tol * max(abs(want), 1.0)


def compare(tag, out, want, inputs):
    """Every dataset, summary, JSON value and prediction of a stage run vs the reference."""
    ds, at = read_h5(out["eval"])
    wds = want["datasets"]
    check(set(ds) == set(wds), f"{tag}: datasets {sorted(set(ds) ^ set(wds))} differ from spec")
    exact = ("_ids", "retrieval_image", "retrieval_brain", "_hits", "retrieval_draws", "/alpha")
    worst = (0.0, "")
    for k, v in wds.items():
        if k not in ds:
            continue
        g = ds[k]
        if any(k.endswith(e) for e in exact):
            ok = g.shape == v.shape and np.array_equal(g, v)
            if not ok and "retrieval" in k:
                print(f"  {k}: got {g}\n  want {v}")
            check(ok, f"{tag}: {k} exactly as the reference")
            if k.endswith("_ids"):
                check(g.dtype == np.int64, f"{tag}: {k} is int64")
        else:
            e = rel(g, v)
            worst = max(worst, (e, k))
            if not check(e <= 1e-6, f"{tag}: {k} rel. error {e:.2e}"):
                print(f"  got  {np.asarray(g)[:8]}\n  want {np.asarray(v)[:8]}")
    print(f"{tag}: largest relative difference {worst[0]:.1e} ({worst[1]})", flush=True)
    for grp, wa in want["attrs"].items():
        ga = at.get(grp, {})
        for k, v in wa.items():
            tol = 1e-12 if k.startswith("retrieval") else 1e-6
            if not check(k in ga and same_value(ga[k], v, tol), f"{tag}: attribute {grp}:{k}"):
                print(f"  got {ga.get(k)!r} want {v!r}")
    root = at["/"]
    for k in ("models", "train_fmri", "test_fmri", "features", "stimuli"):
        val = _s(root.get(k, ""))
        paths = inputs.get(k) or []
        paths = [paths] if isinstance(paths, str) else paths
        present = k in root or not paths        # `stimuli` may be left out without stimuli
        check(present and all(p in val for p in paths), f"{tag}: root attribute {k} = {val!r}")
    # JSON document == the reference and == the h5 attributes.
    with open(out["json"]) as f:
        doc = json.load(f)
    wj = want["json"]
    for k, v in wj.items():
        if k == "metrics":
            continue
        got = doc.get(k)
        if k == "cross" and isinstance(got, bool):     # the spec leaves true/1 open
            got = int(got)
        check(k in doc and same_value(got, v, 1e-12), f"{tag}: JSON {k} = {doc.get(k)!r}")
    check(set(doc.get("metrics", {})) == {"detail", "semantic", "fused"}, f"{tag}: JSON branches")
    for b, wb in wj["metrics"].items():
        jb = doc.get("metrics", {}).get(b, {})
        check(set(jb) == set(wb), f"{tag}: JSON {b} keys {sorted(set(jb) ^ set(wb))}")
        for k, v in wb.items():
            if isinstance(v, dict):
                for s, x in v.items():
                    h5v = at[f"/{b}"].get(f"{k}_{s}")
                    check(s in jb.get(k, {}) and h5v is not None
                          and abs(jb[k][s] - float(h5v)) <= 1e-12 * max(abs(float(h5v)), 1e-3),
                          f"{tag}: JSON {b}.{k}.{s} == h5 attribute")
            else:
                h5v = at[f"/{b}"].get(k)
                check(k in jb and h5v is not None
                      and abs(jb[k] - float(h5v)) <= 1e-12 * max(abs(float(h5v)), 1e-3),
                      f"{tag}: JSON {b}.{k} == h5 attribute ({jb.get(k)} vs {h5v})")
    if "predictions" in out:
        pd, pa = read_h5(out["predictions"])
        check(_s(pa["/"].get("format")) == "bmc.predictions", f"{tag}: predictions format")
        for k, v in want["predictions"].items():
            g = pd.get(k)
            if k == "/image_ids":
                check(g is not None and np.array_equal(g, v), f"{tag}: predictions {k}")
                continue
            check(g is not None and g.dtype == np.float32 and g.shape == v.shape,
                  f"{tag}: predictions {k} float32 {v.shape} (got "
                  f"{None if g is None else (g.dtype, g.shape)})")
            if g is not None and g.shape == v.shape:
                # float32 rounding of the float64 reference: ≤ 1 ulp per element
                e = np.max(np.abs(g - v) / (np.abs(v) + 1e-12 * np.max(np.abs(v))))
                check(e <= 2.0 ** -23, f"{tag}: predictions {k} within float32 rounding "
                                       f"({e:.2e} relative)")
        for grp, wa in want["prediction_attrs"].items():
            for k, v in wa.items():
                check(k in pa.get(grp, {}) and same_value(pa[grp][k], v, 0),
                      f"{tag}: predictions attribute {grp}:{k} = {pa.get(grp, {}).get(k)!r}")
    return ds, at


def no_partial(tmp):
    return [f for f in os.listdir(tmp) if f.endswith(".partial")]


# ---- parity ----------------------------------------------------------------------------------

def sanity(tmp):
    """Noiseless data, tiny penalties: the reference and the stage both retrieve perfectly."""
    rng = np.random.default_rng(11)
    d = make_data(tmp, rng, noise=0.0, tag="exact_")
    mdl = train(tmp, "exact_model1", d["fmri"][1], d["clip"], ["detail", "semantic"],
                alphas=[1e-6, 1e-5])
    inputs = {"models": [mdl], "train_fmri": d["fmri"][1], "test_fmri": d["fmri"][1],
              "features": d["clip"]}
    params = {"train_subject": 1, "test_subject": 1, "rescale": "none", "way": 10, "draws": 5}
    want = ref.evaluate(inputs, params)
    w = want["datasets"]
    ok = all(np.all(w[f"/{b}/retrieval_{k}"] == 1.0) and np.all(w[f"/{b}/two_way_per_image"] == 1)
             for b in ("detail", "semantic", "fused") for k in ("image", "brain"))
    check(ok, "reference sanity: noiseless predictions retrieve and identify perfectly")
    check(min(w["/detail/pearson"].min(), w["/semantic/r2"].min()) > 0.999,
          "reference sanity: noiseless Pearson r and R² ≈ 1")
    r, out = run(tmp, "exact_eval", inputs, params, 1, predictions=False)
    if check(r.returncode == 0, f"noiseless: exit 0 ({r.stderr[-2000:]})"):
        compare("noiseless", out, want, inputs)
    # A way larger than the evaluation images: retrieval is m-way, said and recorded as such.
    m = len(want["datasets"]["/detail/two_way_per_image"])
    got = {}
    for way in (m, 10 * m):
        r, out = run(tmp, "way%d_eval" % way, inputs, dict(params, way=way), 1, predictions=False)
        warned = "way %d is more than the %d evaluation images: retrieval is %d-way" % (way, m, m)
        check(r.returncode == 0 and (warned in r.stderr) == (way > m),
              f"way {way} of {m}: exit 0, warned only when larger ({r.stderr[-2000:]})")
        ds, at = read_h5(out["eval"])
        js = json.load(open(out["json"]))
        check(at["/"]["way"] == m and at["/"]["way_requested"] == way and js["way"] == m and
              js["way_requested"] == way, f"way {way}: recorded as used ({m}) and as asked")
        got[way] = ds
    check(all(np.array_equal(got[m][k], got[10 * m][k]) for k in got[m]),
          "a way larger than m retrieves exactly as way = m")


def parity(tmp):
    sanity(tmp)
    rng = np.random.default_rng(5)
    d = make_data(tmp, rng)
    m1 = train(tmp, "model_subj01", d["fmri"][1], d["clip"])
    m1_det = train(tmp, "model_subj01_detail", d["fmri"][1], d["clip"], ["detail"])
    m1_sem = train(tmp, "model_subj01_semantic", d["fmri"][1], d["clip"], ["semantic", "sem_tok"])
    with h5py.File(m1) as f:
        check(f["mappings/detail"].attrs["form"] == "dual", "fixture: detail decoder is dual")
        check(f["mappings/semantic"].attrs["form"] == "primal", "fixture: semantic is primal")
    within = {"models": [m1], "train_fmri": d["fmri"][1], "test_fmri": d["fmri"][1],
              "features": d["clip"], "stimuli": d["stim"]}
    cross = dict(within, test_fmri=d["fmri"][2])
    S12 = {"train_subject": 1, "test_subject": 2}
    S11 = {"train_subject": 1, "test_subject": 1}
    runs = [
        # name, inputs, params, ranks, montage
        ("within", within, dict(S11), 1, True),
        ("cross", cross, dict(S12, align_images=8, align_seed=5), 2, True),
        ("within_train", dict(within, models=[m1_det, m1_sem],
                              cohort=[d["fmri"][1], d["fmri"][2], d["fmri"][3]]),
         dict(S11, rescale="train", gallery="unseen", way=6, draws=7, seed=11, fusion_weight=0.3,
              semantic_mapping="sem_tok", align_images=3, montage_images=20), 2, True),
        ("cross_none", cross, dict(S12, rescale="none", ssim="2d", align_images=10,
                                   align_alphas=[0.1, 1.0, 10.0, 100.0, 1000.0], way=5,
                                   draws=9, mem_per_rank="16K", fusion_weight=1.0), 3, False),
    ]
    results = {}
    for name, inputs, params, np_, montage in runs:
        r, out = run(tmp, name, inputs, params, np_, montage=montage)
        if not check(r.returncode == 0, f"{name}: exit 0 ({r.stderr[-3000:]})"):
            continue
        want = ref.evaluate(inputs, params)
        m = len(want["datasets"]["/images/eval_ids"])
        print(f"{name}: m = {m}, k = {len(want['datasets']['/images/align_ids'])}, "
              f"gallery {len(want['datasets']['/images/gallery_ids'])}, "
              f"retrieval {want['attrs']['/fused']['retrieval_image_mean']:.3f}, "
              f"two-way {want['attrs']['/fused']['two_way']:.3f}", flush=True)
        compare(name, out, want, inputs)
        check(not no_partial(tmp), f"{name}: no .partial left ({no_partial(tmp)})")
        results[name] = (inputs, params, out)
        if "mem_per_rank" in params:             # the tiny budget splits both branches
            blocks = [int(x) for x in re.findall(r"targets in (\d+) blocks", r.stderr)]
            check(len(blocks) == 2 and min(blocks) > 1, f"{name}: column blocks {blocks}")
        if montage:
            check_montage(name, out["montage"], want, d["stim"], params)
    # Edge cases on an edited model file: the 2-D `pooled` decoder as the semantic branch with
    # W[:, 0] = 0 (a constant prediction column: Pearson r 0, test-rescale sd 0) and
    # pred_train_std[1] = 0 (train-rescale division by 0).
    edited = os.path.join(tmp, "model_subj01_edited.h5")
    shutil.copy(m1, edited)
    with h5py.File(edited, "r+") as f:
        g = f["mappings/pooled"]
        check(g.attrs["form"] == "primal" and int(g.attrs["y_ndims"]) == 2, "fixture: pooled")
        W = g["W"][:]
        W[:, 0] = 0
        g["W"][...] = W
        sd = g["pred_train_std"][:]
        sd[1] = 0
        g["pred_train_std"][...] = sd
    for mode in ("test", "train"):
        inputs = dict(within, models=[edited])
        del inputs["stimuli"]
        params = dict(S11, semantic_mapping="pooled", rescale=mode, align_images=2, draws=3)
        r, out = run(tmp, "edge_" + mode, inputs, params, 1)
        if check(r.returncode == 0, f"edge_{mode}: exit 0 ({r.stderr[-2000:]})"):
            want = ref.evaluate(inputs, params)
            compare("edge_" + mode, out, want, inputs)
            check(want["datasets"]["/semantic/pearson"][0] == 0, "edge: constant column r = 0")

    # Properties of the fixture the runs rely on (so that each variant tests something).
    if "cross" in results:
        w = ref.evaluate(cross, dict(S12, align_images=8, align_seed=5))
        check(len(w["shared"]) == 24, "fixture: 24 shared images (extra test images excluded)")
        check(w["attrs"]["/fused"]["two_way"] > 0.6, "fixture: cross-subject above chance")
    # 1, 2 and 3 ranks: bit-identical datasets and summaries.
    ranks_of = {n: k for n, _, _, k, _ in runs}
    for name in ("cross", "cross_none"):
        if name not in results:
            continue
        inputs, params, out = results[name]
        base_ds, base_at = read_h5(out["eval"])
        base_pd, _ = read_h5(out["predictions"])
        for np_ in (1, 2, 3):
            if np_ == ranks_of[name]:             # the run above
                continue
            r, o = run(tmp, f"{name}_np{np_}", inputs, params, np_)
            if not check(r.returncode == 0, f"{name} np{np_}: exit 0 ({r.stderr[-2000:]})"):
                continue
            ds, at = read_h5(o["eval"])
            pd, _ = read_h5(o["predictions"])
            diff = [k for k in set(base_ds) | set(ds)
                    if k not in ds or k not in base_ds or not np.array_equal(ds[k], base_ds[k])]
            diff += ["pred" + k for k in set(base_pd) | set(pd)
                     if k not in pd or k not in base_pd or not np.array_equal(pd[k], base_pd[k])]
            check(not diff, f"{name}: {np_} ranks bit-identical datasets (differ: {diff})")
            adiff = [f"{g}:{k}" for g in ("/detail", "/semantic", "/fused")
                     for k in base_at.get(g, {})
                     if not np.array_equal(np.asarray(at.get(g, {}).get(k)),
                                           np.asarray(base_at[g][k]))]
            check(not adiff, f"{name}: {np_} ranks identical summaries (differ: {adiff})")
            check(int(at["/"].get("mpi_size", -1)) == np_, f"{name}: mpi_size {np_}")


def check_montage(name, path, want, stim, params):
    """Layout of stages/evaluate/recon.h (the spec leaves it open): a 22-pixel header, then
    per row a 4-pixel gap and 128×128 tiles separated by 4 pixels; columns truth, fused,
    semantic, detail. Each tile, averaged back to the stimuli's size, must correlate with its
    image (ground truth or the retrieved id of the reference)."""
    from PIL import Image
    if not check(os.path.exists(path), f"{name}: montage written"):
        return
    img = np.asarray(Image.open(path).convert("RGB")).astype(np.float64)
    m = len(want["datasets"]["/images/eval_ids"])
    rows = min(int(params.get("montage_images", 8)), m)
    tile, gap, header = 128, 4, 22
    H, W = img.shape[:2]
    if not check((W, H) == (gap + 4 * (tile + gap), header + rows * (gap + tile) + gap),
                 f"{name}: montage {W}x{H} = {rows} rows of 4 tiles"):
        return
    with h5py.File(stim) as f:
        brick = f["imgBrick"][:].astype(np.float64)
    ev = want["datasets"]["/images/eval_ids"]
    cols = [ev] + [want["datasets"][f"/{b}/retrieved_ids"] for b in ("fused", "semantic",
                                                                    "detail")]
    h, w = brick.shape[1:3]
    worst = 1.0
    for r in range(rows):
        for c in range(4):
            y, x = header + gap + r * (tile + gap), gap + c * (tile + gap)
            t = img[y:y + tile, x:x + tile].reshape(h, tile // h, w, tile // w, 3).mean((1, 3))
            worst = min(worst, np.corrcoef(t.ravel(), brick[cols[c][r]].ravel())[0, 1])
    check(worst > 0.9, f"{name}: montage tiles show the truth and retrieved images "
                       f"(lowest correlation {worst:.3f})")


# ---- bad inputs ------------------------------------------------------------------------------

def expect_error(tmp, name, inputs, params, words, np_=2):
    r, out = run(tmp, name, inputs, params, np_, montage=True)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    check(r.returncode == 2, f"{name}: exit 2 (got {r.returncode}: {r.stderr[-800:]})")
    check(len(lines) == 1, f"{name}: one error message ({len(lines)}: {r.stderr[-800:]})")
    msg = lines[0] if lines else ""
    if os.environ.get("BMC_VERBOSE"):
        print(f"{name}: {msg}")
    for wd in words:
        check(wd in msg, f"{name}: message names '{wd}': {msg}")
    left = [p for p in out.values() if os.path.exists(p) or os.path.exists(p + ".partial")]
    check(not left and not no_partial(tmp), f"{name}: no output left ({left}, {no_partial(tmp)})")


def bad(tmp):
    rng = np.random.default_rng(9)
    d = make_data(tmp, rng)
    m1 = train(tmp, "model_subj01", d["fmri"][1], d["clip"], ["detail", "semantic"])
    m2_sem = train(tmp, "model_subj02_semantic", d["fmri"][2], d["clip"], ["semantic"])
    m1_det = train(tmp, "model_subj01_detail", d["fmri"][1], d["clip"], ["detail"])
    base = {"models": [m1], "train_fmri": d["fmri"][1], "test_fmri": d["fmri"][2],
            "features": d["clip"], "stimuli": d["stim"]}
    P = {"train_subject": 1, "test_subject": 2, "align_images": 6}
    # Sanity: the base configuration itself runs (so every failure below is the edit's).
    r, out = run(tmp, "bad_base", base, P, 1, montage=True)
    check(r.returncode == 0, f"bad: the unedited config runs ({r.stderr[-1500:]})")
    for p in out.values():
        if os.path.exists(p):
            os.remove(p)

    expect_error(tmp, "train_subject", base, dict(P, train_subject=3),
                 ["train_subject", "model_subj01.h5"])
    expect_error(tmp, "test_subject", base, dict(P, test_subject=3),
                 ["subject 3", "fmri_subj02.h5"])
    expect_error(tmp, "two_subjects", dict(base, models=[m1_det, m2_sem]), P,
                 ["subject", "model_subj02_semantic.h5"])
    expect_error(tmp, "unknown_mapping", base, dict(P, detail_mapping="nope"), ["nope"])
    expect_error(tmp, "cross_no_align", base, dict(P, align_images=0), ["align_images"])
    expect_error(tmp, "align_too_many", base, dict(P, align_images=24), ["align_images", "24"])
    expect_error(tmp, "one_eval_image", base, dict(P, align_images=23), ["align_images", "23"],
                 np_=1)

    # Features file without one evaluation image.
    s = ref.image_sets(dict(base), dict(ref.DEFAULTS, **P))
    gone = int(s[2][3])
    keep = d["fids"] != gone
    clip2 = os.path.join(tmp, "clip_missing.h5")
    write_clip(clip2, d["fids"][keep], {k: v[keep] for k, v in d["feat"].items()})
    expect_error(tmp, "missing_feature", dict(base, features=clip2), P,
                 [str(gone), "clip_missing.h5"])

    # train_fmri whose detail group has fewer voxels than the model's.
    with h5py.File(d["fmri"][1]) as f:
        fm = {g: dict(train=f["train/" + g][:], test=f["test/" + g][:],
                      ijk=f[f"voxels/{g}/ijk"][:], roi=f[f"voxels/{g}/roi"][:])
              for g in ("detail", "semantic")}
        tr_ids, te_ids = f["train/image_ids"][:], f["test/image_ids"][:]
    fm["detail"] = {k: (v[:, :-5] if k in ("train", "test") else v[:-5])
                    for k, v in fm["detail"].items()}
    short = os.path.join(tmp, "fmri_short.h5")
    write_fmri(short, 1, tr_ids, te_ids, fm)
    expect_error(tmp, "voxel_count", dict(base, train_fmri=short), P,
                 ["detail", "fmri_short.h5"])

    expect_error(tmp, "unknown_key", base, dict(P, fusion_wieght=0.4), ["fusion_wieght"])
    expect_error(tmp, "fusion_weight", base, dict(P, fusion_weight=1.5), ["fusion_weight"])
    expect_error(tmp, "fusion_weight_neg", base, dict(P, fusion_weight=-0.1), ["fusion_weight"],
                 np_=1)


def main():
    tmp = tempfile.mkdtemp(prefix="bmc-evaluate-")
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
