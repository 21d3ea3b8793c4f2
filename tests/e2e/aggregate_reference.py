#!/usr/bin/python3
"""aggregate_reference.py — bmc-aggregate's summary rows (docs/FORMATS.md `bmc.summary`) in
NumPy from the same input files, for tests/e2e/check_aggregate.py.

rows(inputs, params) takes the `inputs` and `params` of a bmc-aggregate stage file and returns
the rows of summary.csv as dicts (in the documented order), recomputed from the eval files'
per-image and per-draw arrays, the predictions and features (per-target Pearson r and R² under
every resample), and the models (parameter counts, penalties): the bootstrap resample counts
from splitmix64 keyed by (seed, b), the weighted statistics, NumPy's default quantiles, means
and SDs over pairs, the paired fused − semantic differences and their verdicts. It does not
check input validity (the stage does; the test checks that separately).
"""
import h5py
import numpy as np

M64 = (1 << 64) - 1
BRANCHES = ("detail", "semantic", "fused")
# key, dataset, summary attribute, kind
METRICS = [("pearson", "pearson", "pearson", "target"), ("r2", "r2", "r2", "target"),
           ("cosine_global", "cosine_global", "cosine_global", "image"),
           ("cosine_all", "cosine_all", "cosine_all", "image"),
           ("two_way", "two_way_per_image", "two_way", "image"),
           ("retrieval_brain_to_image", "retrieval_image_hits", "retrieval_image_mean", "draw"),
           ("retrieval_image_to_brain", "retrieval_brain_hits", "retrieval_brain_mean", "draw"),
           ("pixcorr", "pixcorr", "pixcorr", "image"), ("ssim", "ssim", "ssim", "image")]
PENALTIES = ("alpha_median", "alpha_geometric_mean", "alpha_min", "alpha_max",
             "fraction_at_lowest_alpha", "fraction_at_highest_alpha")


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def resample_counts(m, seed, b):
    """boot_counts: m draws with replacement from the stream at mix64(mix64(seed) + b)."""
    state = mix64((mix64(int(seed) & M64) + b) & M64)
    counts = np.zeros(m, np.int64)
    threshold = ((1 << 64) - m) % m
    for _ in range(m):
        while True:
            state = (state + 0x9E3779B97F4A7C15) & M64
            x = mix64(state)
            if x >= threshold:
                break
        counts[x % m] += 1
    return counts


def _s(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def read_eval(path):
    with h5py.File(path, "r") as f:
        a = f.attrs
        ev = dict(path=path, train=int(a["train_subject"]), test=int(a["test_subject"]),
                  cross=int(a["cross"]), rescale=_s(a["rescale"]), way=int(a["way"]),
                  draws=int(a["draws"]), fp=_s(a["stage_fingerprint"]),
                  ids=f["images/eval_ids"][:], draw_ids=f["images/retrieval_draws"][:], br={})
        for b in BRANCHES:
            g = f[b]
            d = {"mapping": _s(g.attrs["mapping"]) if "mapping" in g.attrs else None}
            for key, ds, attr, kind in METRICS:
                if kind == "target" and b == "fused":
                    continue
                if ds in ("pixcorr", "ssim") and ds not in g:
                    continue
                d[key] = dict(point=float(g.attrs[attr]),
                              data=None if kind == "target" else g[ds][:].astype(np.float64))
            ev["br"][b] = d
    ev["m"] = len(ev["ids"])
    ev["draw_pos"] = np.searchsorted(ev["ids"], ev["draw_ids"])
    return ev


def stat_draws(w, hits, pos):
    W = w[pos].sum(1)
    H = (w[pos] * hits).sum(1)
    ok = W > 0
    return (H[ok] / W[ok]).mean() if ok.any() else np.nan


def per_target(Wt, pred, real):
    """Resample means over targets of Pearson r and R² (the file comment of targets.c)."""
    m = pred.shape[0]
    p = pred - pred.mean(0)
    r = real - real.mean(0)
    e2 = (real - pred) ** 2
    Sp, Sr, Spp, Srr, Spr, Se = (Wt @ x for x in (p, r, p * p, r * r, p * r, e2))
    vp, vr = Spp - Sp * Sp / m, Srr - Sr * Sr / m
    cov = Spr - Sp * Sr / m
    cp, cr = ~(vp > 1e-12 * Spp), ~(vr > 1e-12 * Srr)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(cp | cr, 0.0, cov / np.sqrt(vp * vr))
        r2 = np.where(cr, np.where(Se == 0, 1.0, 0.0), 1.0 - Se / vr)
    return rr.mean(1), r2.mean(1)


def literal_check(counts, pred, real, r, r2):
    """The weighted-sum shortcut of per_target against the textbook bootstrap: resample b as
    the literal list of rows (np.repeat by count), then np.corrcoef per target and
    scikit-learn's r2_score on that list. Raises when they disagree (beyond 1e-9)."""
    from sklearn.metrics import r2_score
    for b, c in enumerate(counts):
        idx = np.repeat(np.arange(len(c)), c)
        P, R = pred[idx], real[idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            rr = np.nan_to_num([np.corrcoef(P[:, k], R[:, k])[0, 1] for k in range(P.shape[1])])
        want = (rr.mean(), r2_score(R, P, multioutput="raw_values").mean())
        if not (np.isclose(r[b], want[0], rtol=1e-9, atol=1e-12) and
                np.isclose(r2[b], want[1], rtol=1e-9, atol=1e-12)):
            raise AssertionError(f"per_target resample {b}: {(r[b], r2[b])} != literal {want}")


def model_mappings(paths):
    out = {}
    for path in paths:
        with h5py.File(path, "r") as f:
            s = int(f.attrs["subject"])
            for name in _s(f.attrs["mappings"]).split("\n"):
                g = f["mappings/" + name]
                a = g.attrs
                p, t = int(a["p"]), int(a["t"])
                rank = g["A"].shape[1] if "A" in g else 0
                alpha, alphas = g["alpha"][:], g["alphas"][:]
                out[(s, name)] = dict(
                    params=rank * (p + t) + t if rank else p * t + t,
                    pen=[np.median(alpha), np.exp(np.mean(np.log(alpha))), alpha.min(),
                         alpha.max(), np.mean(alpha == alphas[0]), np.mean(alpha == alphas[-1])],
                    path=path, token_index=g["token_index"][:], y_dataset=_s(a["y_dataset"]))
    return out


def _quant(v, level):
    if np.isnan(v).any():
        return np.nan, np.nan
    lo, hi = np.quantile(v, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def rows(inputs, params):
    B = int(params.get("resamples", 1000))
    seed = int(params.get("seed", 0))
    level = float(params.get("ci_level", 0.95))
    ev = sorted((read_eval(p) for p in inputs["evals"]),
                key=lambda e: (e["rescale"], e["train"], e["test"]))
    m = ev[0]["m"]
    counts = np.array([resample_counts(m, seed, b) for b in range(B)])
    Wt = counts.astype(np.float64)
    maps = model_mappings(inputs["models"])
    preds = {}
    for p in inputs.get("predictions") or []:
        with h5py.File(p, "r") as f:
            preds[_s(f.attrs["stage_fingerprint"])] = p
    feat = None
    if preds:
        with h5py.File(inputs["features"], "r") as f:
            fid = f["image_ids"][:]
            feat = {k: f[k][:] for k in f if k != "image_ids" and k != "done"}
    theta = {}                       # (eval index, branch, metric) -> [B]
    for i, e in enumerate(ev):
        for b in BRANCHES:
            for key, _, _, kind in METRICS:
                d = e["br"][b].get(key)
                if d is None:
                    continue
                if kind == "image":
                    theta[i, b, key] = counts @ d["data"] / m
                elif kind == "draw":
                    theta[i, b, key] = np.array([stat_draws(w, d["data"], e["draw_pos"])
                                                 for w in counts])
        if e["fp"] in preds:
            with h5py.File(preds[e["fp"]], "r") as f:
                for b in BRANCHES[:2]:
                    mp = maps[(e["train"], e["br"][b]["mapping"])]
                    pred = f[b][:].astype(np.float64).reshape(m, -1)
                    rows_ = np.array([np.where(fid == i_)[0][0] for i_ in e["ids"]])
                    real = feat[mp["y_dataset"]][rows_].astype(np.float64)
                    if real.ndim == 3:
                        real = real[:, mp["token_index"], :]
                    r, r2 = per_target(Wt, pred, real.reshape(m, -1))
                    literal_check(counts[:2], pred, real.reshape(m, -1), r[:2], r2[:2])
                    theta[i, b, "pearson"], theta[i, b, "r2"] = r, r2
    nan = np.full(B, np.nan)
    out = []

    def row(section, scope, dec, rs, key, kind, idx, diff):
        pts = [(e["br"]["fused"][key]["point"] - e["br"]["semantic"][key]["point"]) if diff
               else e["br"][dec][key]["point"] for e in (ev[i] for i in idx)]
        th = [(theta.get((i, "fused", key), nan) - theta.get((i, "semantic", key), nan)) if diff
              else theta.get((i, dec, key), nan) for i in idx]
        pooled = np.sum(th, axis=0) / len(idx)
        lo, hi = _quant(pooled, level)
        value = pts[0] if len(idx) == 1 else float(np.mean(pts))
        sd = np.nan if len(idx) == 1 else float(np.std(pts, ddof=1))
        single = scope == "pair"
        r = dict(section=section, scope=scope,
                 train_subject=ev[idx[0]]["train"] if single else None,
                 test_subject=ev[idx[0]]["test"] if single else None,
                 decoder="fused-semantic" if diff else dec, rescale=rs, metric=key,
                 higher_is_better=1, way=ev[0]["way"] if kind == "draw" else None,
                 draws=ev[0]["draws"] if kind == "draw" else None, n_images=m,
                 n_subjects=len(idx), resamples=None if np.isnan(lo) else B, value=value,
                 sd=sd, ci_lo=lo, ci_hi=hi, verdict=None)
        if diff:
            r["verdict"] = ("fused_higher" if lo > 0 else "semantic_higher" if hi < 0
                            else "no_difference")
        out.append(r)

    for i, e in enumerate(ev):
        for b in BRANCHES:
            for key, _, _, kind in METRICS:
                if key in e["br"][b]:
                    row("metric", "pair", b, e["rescale"], key, kind, [i], False)
    rescales = sorted({e["rescale"] for e in ev})
    scopes = (("within_subject", lambda e: not e["cross"]), ("cross_subject", lambda e: e["cross"]))
    for rs in rescales:
        for scope, keep in scopes:
            for b in BRANCHES:
                for key, _, _, kind in METRICS:
                    idx = [i for i, e in enumerate(ev) if e["rescale"] == rs and keep(e)
                           and key in e["br"][b]]
                    if idx:
                        row("metric", scope, b, rs, key, kind, idx, False)
    for rs in rescales:
        for scope, keep in (("pair", lambda e: True),) + scopes:
            for key, _, _, kind in METRICS:
                idx = [i for i, e in enumerate(ev) if e["rescale"] == rs and keep(e)
                       and key in e["br"]["fused"] and key in e["br"]["semantic"]]
                if scope == "pair":
                    for i in idx:
                        row("fused_minus_semantic", "pair", None, rs, key, kind, [i], True)
                elif idx:
                    row("fused_minus_semantic", scope, None, rs, key, kind, idx, True)
    subjects = sorted({s for e in ev for s in (e["train"], e["test"])})
    for s in subjects:
        e = next((e for e in ev if e["train"] == s), None)
        if e is None:
            continue
        mp = [maps[(s, e["br"][b]["mapping"])] for b in BRANCHES[:2]]
        for b, v in zip(BRANCHES, (mp[0]["params"], mp[1]["params"],
                                   mp[0]["params"] + mp[1]["params"])):
            out.append(dict(section="parameters", scope="subject", train_subject=s,
                            decoder=b, metric="parameters", value=float(v)))
        for b in range(2):
            for name, v in zip(PENALTIES, mp[b]["pen"]):
                out.append(dict(section="penalty", scope="subject", train_subject=s,
                                decoder=BRANCHES[b], metric=name, value=float(v)))
    return out
