#!/usr/bin/python3
"""eval_reference.py — bmc-evaluate (docs/FORMATS.md `bmc.eval`, `bmc.predictions`) in NumPy,
scikit-learn, scikit-image and torch, from the same input files, for tests/e2e/check_evaluate.py.

evaluate(inputs, params) takes the `inputs` and `params` of a bmc-evaluate config and returns
{"datasets": {"/detail/pearson": array, ...}, "attrs": {"/": {...}, "/detail": {...}, ...},
 "json": {...}, "predictions": {"/image_ids": ..., "/detail": ..., "/semantic": ...}}:
image sets (shared ∩ cohort, alignment set by the splitmix64 key, evaluation set, gallery),
cross-subject alignment (RidgeCV(alpha_per_target=True) per fMRI group on the alignment
images), predictions with bmc.model's formula (float64 from the stored weights), the three
rescale modes, per-target Pearson r / R² (r2_score), cosines, MindEye's two-way identification,
top-1 retrieval over the splitmix64 draws, gallery retrieval, PixCorr and SSIM of the retrieved
images (torch bilinear resize to 425, skimage rgb2gray + structural_similarity), the fused
branch, the summaries and the JSON document. It does not write files or check input validity.
"""
import warnings

import h5py
import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from skimage.color import rgb2gray
from skimage.metrics import structural_similarity
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score

M64 = (1 << 64) - 1
Z95 = 1.959963984540054          # scipy.stats.norm.ppf(0.975)
DEFAULTS = dict(detail_mapping="detail", semantic_mapping="semantic", fusion_weight=0.5,
                rescale="test", align_images=0, align_seed=0,
                align_alphas=[10.0 ** (-1 + 0.5 * k) for k in range(17)], way=300, draws=30,
                seed=0, gallery="not_test", montage_images=8, ssim="mindeye")
BRANCHES = ("detail", "semantic")


# ---- seeded keys and draws -------------------------------------------------------------------

def _splitmix_next(state):
    """(new state, output) of one splitmix64 step (64-bit wrap-around)."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def splitmix64(x):
    """The alignment key: splitmix64 of state x."""
    return _splitmix_next(int(x) & M64)[1]


def draw_items(n, way, seed, draw):
    """metric_draw_items: partial Fisher–Yates of 0..n-1, state seed + draw, rejection below
    2^64 mod range."""
    perm = list(range(n))
    state = (int(seed) + int(draw)) & M64
    out = []
    for k in range(way):
        rng = n - k
        threshold = ((1 << 64) - rng) % rng
        while True:
            state, x = _splitmix_next(state)
            if x >= threshold:
                break
        j = k + x % rng
        perm[k], perm[j] = perm[j], perm[k]
        out.append(perm[k])
    return np.array(out, np.int64)


# ---- inputs ----------------------------------------------------------------------------------

def _read_ids(path):
    with h5py.File(path, "r") as f:
        return f["test/image_ids"][:], f["train/image_ids"][:]


def _group_rows(path, group, ids):
    """float64 rows of /test/<group> for the image ids (matched by id)."""
    with h5py.File(path, "r") as f:
        all_ids = f["test/image_ids"][:]
        X = f["test/" + group][:].astype(np.float64)
    pos = {int(i): k for k, i in enumerate(all_ids)}
    return X[[pos[int(i)] for i in ids]]


def load_mapping(models, name):
    """The decoder `name` from the first model file holding it: arrays as float64, attrs."""
    for path in models:
        with h5py.File(path, "r") as f:
            if "mappings/" + name not in f:
                continue
            g = f["mappings/" + name]
            d = {k: g[k][()] for k in g if isinstance(g[k], h5py.Dataset)}
            a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
            if a["form"] == "dual":
                W = d["X_train_centred"].astype(np.float64).T @ d["dual_coef"].astype(np.float64)
            else:
                W = d["W"].astype(np.float64)
            return dict(d=d, attrs=a, W=W, name=name)
    raise KeyError(name)


def image_sets(inputs, p):
    """shared, alignment, evaluation ids and the gallery ids (all sorted)."""
    s_test, _ = _read_ids(inputs["train_fmri"])
    t_test, t_train = _read_ids(inputs["test_fmri"])
    shared = set(map(int, s_test)) & set(map(int, t_test))
    for c in inputs.get("cohort") or []:
        shared &= set(map(int, _read_ids(c)[0]))
    shared = sorted(shared)
    keyed = sorted(shared, key=lambda i: (splitmix64(p["align_seed"] + i), i))
    align = sorted(keyed[:p["align_images"]])
    evals = sorted(set(shared) - set(align))
    with h5py.File(inputs["features"], "r") as f:
        fids = f["image_ids"][:]
    excl = set(map(int, t_test))
    if p["gallery"] == "unseen":
        excl |= set(map(int, t_train))
    gallery = sorted(int(i) for i in fids if int(i) not in excl)
    return (np.array(shared, np.int64), np.array(align, np.int64), np.array(evals, np.int64),
            np.array(gallery, np.int64))


def features_of(path, dataset, ids, token_index):
    """[len(ids), tokens·width] float64 targets, token-major, rows matched by id."""
    with h5py.File(path, "r") as f:
        fids = f["image_ids"][:]
        F = f[dataset][:]
    pos = {int(i): k for k, i in enumerate(fids)}
    F = F[[pos[int(i)] for i in ids]].astype(np.float64)
    if F.ndim == 3:
        F = F[:, np.asarray(token_index), :]
    return F.reshape(len(ids), -1)


# ---- predictions -----------------------------------------------------------------------------

def predict(mp, X):
    d = mp["d"]
    Xs = X[:, d["voxel_index"]] * d["voxel_scale"]
    return Xs @ mp["W"] + d["intercept"]


def rescale(Y, mp, mode):
    d = mp["d"]
    if mode == "none":
        return Y
    if mode == "test":
        mu, sd = Y.mean(0), Y.std(0)
    else:
        mu, sd = d["pred_train_mean"], d["pred_train_std"]
    z = np.divide(Y - mu, sd, out=np.zeros_like(Y), where=sd > 0)
    return z * d["y_train_std"] + d["y_train_mean"]


# ---- feature metrics -------------------------------------------------------------------------

def pearson_per_target(pred, real):
    r = np.empty(pred.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(pred.shape[1]):
            r[k] = np.corrcoef(pred[:, k], real[:, k])[0, 1]
    return np.nan_to_num(r, nan=0.0)


def _normalise(a):
    n = np.linalg.norm(a, axis=1, keepdims=True)
    return np.divide(a, n, out=np.zeros_like(a), where=n > 0)


def cosine_rows(a, b):
    return np.sum(_normalise(a) * _normalise(b), axis=1)


def corr_matrix(real, pred):
    """R[i, j] = Pearson r of real row i with pred row j (np.corrcoef, as MindEye)."""
    m = len(real)
    return np.clip(np.corrcoef(real, pred)[:m, m:], -1, 1)


def two_way_per_image(R):
    m = len(R)
    return np.sum(R < np.diag(R)[None, :], axis=0) / (m - 1)


def retrieval(S, way, draws, seed):
    """per-draw top-1 accuracies (image, brain) on S[i, j] = sim(pred_i, real_j), the drawn
    items [draws, way] and the per-item hits (image = brain -> image: row i's own column is the
    strict maximum; brain = image -> brain: column i's own row)."""
    m = len(S)
    way = min(way, m)
    img, brn = np.empty(draws), np.empty(draws)
    items = np.empty((draws, way), np.int64)
    hi, hb = np.empty((draws, way), np.uint8), np.empty((draws, way), np.uint8)
    for d in range(draws):
        idx = draw_items(m, way, seed, d)
        sub = S[np.ix_(idx, idx)]
        own = np.diag(sub)
        off = sub.copy()
        np.fill_diagonal(off, -np.inf)
        items[d], hi[d], hb[d] = idx, own > off.max(1), own > off.max(0)
        img[d], brn[d] = hi[d].mean(), hb[d].mean()
    return img, brn, items, hi, hb


def interval(acc):
    mean = acc.mean()
    half = Z95 * acc.std() / np.sqrt(len(acc))
    return mean, mean - half, mean + half


# ---- image metrics ---------------------------------------------------------------------------

_image_cache = {}
_anchored = [0]            # how many column-wise SSIMs were verified against skimage's loop
SSIM_KW = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)


def _resized(img_u8):
    """[3, 425, 425] float32: ToTensor, then torch bilinear resize (align_corners=False)."""
    t = torch.from_numpy(img_u8.astype(np.float32) / np.float32(255)).permute(2, 0, 1)[None]
    out = torch.nn.functional.interpolate(t.contiguous(), size=(425, 425), mode="bilinear",
                                          align_corners=False)
    return out[0].numpy()


def _ssim_columns(ga, gb):
    """skimage structural_similarity(gb, ga, multichannel=True, **SSIM_KW) on 2-D gray images
    (each column a 1-D signal), vectorised over the columns: the same Gaussian filter
    (σ 1.5, truncate 3.5, 'reflect'), formula and 5-sample crop as skimage 0.19."""
    f = lambda x: gaussian_filter1d(x, 1.5, axis=0, truncate=3.5, mode="reflect")  # noqa
    ux, uy = f(gb), f(ga)
    vx, vy, vxy = f(gb * gb) - ux * ux, f(ga * ga) - uy * uy, f(gb * ga) - ux * uy
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    S = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return float(S[5:-5].mean(0).mean())


def image_pair_metrics(stim_path, brick, a_id, b_id, mode):
    """(PixCorr, SSIM) of stimuli rows a_id (ground truth) and b_id (retrieved)."""
    key = (stim_path, int(a_id), int(b_id), mode)
    if key not in _image_cache:
        a, b = _resized(brick[int(a_id)]), _resized(brick[int(b_id)])
        pix = np.corrcoef(a.reshape(-1), b.reshape(-1))[0, 1]
        ga = rgb2gray(a.astype(np.float64).transpose(1, 2, 0))
        gb = rgb2gray(b.astype(np.float64).transpose(1, 2, 0))
        if mode == "2d":
            s = structural_similarity(gb, ga, **SSIM_KW)
        else:
            s = _ssim_columns(ga, gb)
            if _anchored[0] < 3:       # skimage's own (slow) per-column loop, MindEye's call
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    sk = structural_similarity(gb, ga, multichannel=True, **SSIM_KW)
                assert abs(sk - s) < 1e-12, f"column SSIM {s} != skimage {sk}"
                _anchored[0] += 1
        _image_cache[key] = (float(pix), float(s))
    return _image_cache[key]


# ---- the run ---------------------------------------------------------------------------------

def evaluate(inputs, params):
    p = dict(DEFAULTS, **params)
    w = float(p["fusion_weight"])
    cross = int(p["train_subject"] != p["test_subject"])
    shared, align, evals, gallery = image_sets(inputs, p)
    m = len(evals)
    maps = {b: load_mapping(inputs["models"], p[b + "_mapping"]) for b in BRANCHES}
    ds, attrs, preds = {}, {}, {}
    ds["/images/eval_ids"], ds["/images/align_ids"] = evals, align
    ds["/images/gallery_ids"] = gallery

    X = {}
    for b in BRANCHES:
        g = maps[b]["attrs"]["x_group"]
        if g in X:
            continue
        if cross:
            A_t = _group_rows(inputs["test_fmri"], g, align)
            A_s = _group_rows(inputs["train_fmri"], g, align)
            sk = RidgeCV(alphas=p["align_alphas"], alpha_per_target=True).fit(A_t, A_s)
            ds[f"/align/{g}/alpha"] = np.asarray(sk.alpha_, np.float64)
            X[g] = sk.predict(_group_rows(inputs["test_fmri"], g, evals))
        else:
            X[g] = _group_rows(inputs["train_fmri"], g, evals)

    way = min(int(p["way"]), m)
    S, R, C, cg, ca = {}, {}, {}, {}, {}
    for b in BRANCHES:
        mp = maps[b]
        a = mp["attrs"]
        Y = rescale(predict(mp, X[a["x_group"]]), mp, p["rescale"])
        tok = mp["d"]["token_index"]
        real = features_of(inputs["features"], a["y_dataset"], evals, tok)
        gal = features_of(inputs["features"], a["y_dataset"], gallery, tok)
        width = int(a["width"])
        shape = (m, len(tok), width) if int(a["y_ndims"]) == 3 else (m, width)
        preds["/" + b] = Y.reshape(shape)
        ds[f"/{b}/pearson"] = pearson_per_target(Y, real)
        ds[f"/{b}/r2"] = r2_score(real, Y, multioutput="raw_values")
        cg[b] = cosine_rows(Y[:, :width], real[:, :width])
        ca[b] = cosine_rows(Y, real)
        R[b] = corr_matrix(real, Y)
        S[b] = _normalise(Y) @ _normalise(real).T
        C[b] = _normalise(Y) @ _normalise(gal).T
    cg["fused"] = w * cg["detail"] + (1 - w) * cg["semantic"]
    ca["fused"] = w * ca["detail"] + (1 - w) * ca["semantic"]
    for M in (S, R, C):
        M["fused"] = w * M["detail"] + (1 - w) * M["semantic"]

    brick = None
    if inputs.get("stimuli"):
        with h5py.File(inputs["stimuli"], "r") as f:
            brick = f["imgBrick"][:]
    js = {}
    for b in BRANCHES + ("fused",):
        ds[f"/{b}/cosine_global"], ds[f"/{b}/cosine_all"] = cg[b], ca[b]
        ds[f"/{b}/two_way_per_image"] = two_way_per_image(R[b])
        img, brn, items, hi, hb = retrieval(S[b], way, int(p["draws"]), int(p["seed"]))
        ds[f"/{b}/retrieval_image"], ds[f"/{b}/retrieval_brain"] = img, brn
        ds[f"/{b}/retrieval_image_hits"], ds[f"/{b}/retrieval_brain_hits"] = hi, hb
        ds["/images/retrieval_draws"] = evals[items]
        ret = gallery[np.argmax(C[b], axis=1)]      # first maximum = the smaller id
        ds[f"/{b}/retrieved_ids"] = ret
        at = {}
        if b != "fused":
            at["pearson"] = ds[f"/{b}/pearson"].mean()
            at["r2"] = ds[f"/{b}/r2"].mean()
        at["cosine_global"], at["cosine_all"] = cg[b].mean(), ca[b].mean()
        at["two_way"] = ds[f"/{b}/two_way_per_image"].mean()
        if brick is not None:
            pm = np.array([image_pair_metrics(inputs["stimuli"], brick, e, r, p["ssim"])
                           for e, r in zip(evals, ret)]).reshape(m, 2)
            ds[f"/{b}/pixcorr"], ds[f"/{b}/ssim"] = pm[:, 0], pm[:, 1]
            at["pixcorr"], at["ssim"] = pm[:, 0].mean(), pm[:, 1].mean()
        for nm, acc in (("retrieval_image", img), ("retrieval_brain", brn)):
            at[nm + "_mean"], at[nm + "_lo"], at[nm + "_hi"] = interval(acc)
        jb = {k: at[k] for k in ("pearson", "r2", "cosine_global", "cosine_all", "two_way",
                                 "pixcorr", "ssim") if k in at}
        for nm in ("retrieval_image", "retrieval_brain"):
            jb[nm] = {"mean": at[nm + "_mean"], "lo": at[nm + "_lo"], "hi": at[nm + "_hi"]}
        js[b] = jb
        if b != "fused":
            a = maps[b]["attrs"]
            at.update(mapping=maps[b]["name"], x_group=a["x_group"], y_dataset=a["y_dataset"],
                      form=a["form"], t=int(a["t"]))
        attrs["/" + b] = at
    attrs["/"] = dict(format="bmc.eval", format_version=2, train_subject=p["train_subject"],
                      test_subject=p["test_subject"], cross=cross, n_eval=m, n_align=len(align),
                      n_gallery=len(gallery), fusion_weight=w, rescale=p["rescale"], way=way,
                      draws=int(p["draws"]), seed=int(p["seed"]), align_seed=int(p["align_seed"]),
                      gallery=p["gallery"], ssim_mode=p["ssim"])
    doc = {"format": "bmc.eval", "format_version": 2, "train_subject": p["train_subject"],
           "test_subject": p["test_subject"], "cross": cross, "n_eval": m, "n_align": len(align),
           "n_gallery": len(gallery), "way": way, "draws": int(p["draws"]), "fusion_weight": w,
           "metrics": js}
    preds["/image_ids"] = evals
    pattrs = {"/" + b: dict(mapping=maps[b]["name"], y_dataset=maps[b]["attrs"]["y_dataset"],
                            token_index=np.asarray(maps[b]["d"]["token_index"], np.int64),
                            rescale=p["rescale"]) for b in BRANCHES}
    pattrs["/"] = dict(train_subject=p["train_subject"], test_subject=p["test_subject"])
    return dict(datasets=ds, attrs=attrs, json=doc, predictions=preds, prediction_attrs=pattrs,
                shared=shared)
