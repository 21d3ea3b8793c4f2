#!/usr/bin/python3
"""eval_metrics_ref.py — independent references for tests/unit/test_eval_metrics.c.

Usage: eval_metrics_ref.py features|images DIR
DIR holds meta.txt ("key value" lines) and raw little-endian arrays written by the C test
(*.f32 float32, *.i64 int64); this script writes the references as *.ref.f64 (float64).
features: NumPy corrcoef, scikit-learn r2_score, torch cosine, MindEye's two_way_identification
          and its retrieval loop (normalize, batchwise cosine, argsort top-1, np.std, norm.interval)
          on the draws the C code made.
images:   torch.nn.functional.interpolate (bilinear, align_corners=False), np.corrcoef PixCorr,
          skimage 0.19 rgb2gray + structural_similarity exactly as MindEye calls it
          (multichannel=True) and the 2-D variant.
"""
import os
import sys

import numpy as np


def load(d, name, dtype, shape):
    return np.fromfile(os.path.join(d, name), dtype=dtype).reshape(shape)


def save(d, name, arr):
    np.asarray(arr, dtype=np.float64).tofile(os.path.join(d, name + ".ref.f64"))


def read_meta(d):
    meta = {}
    with open(os.path.join(d, "meta.txt")) as f:
        for line in f:
            k, v = line.split()
            meta[k] = int(v)
    return meta


def features(d, m):
    import torch
    from scipy import stats
    from sklearn.metrics import r2_score

    n, t = m["n"], m["t"]
    pred = load(d, "pred_t.f32", np.float32, (n, t))
    real = load(d, "real_t.f32", np.float32, (n, t))
    r = np.empty(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(t):
            r[k] = np.corrcoef(pred[:, k], real[:, k])[0, 1]
    save(d, "pearson", np.nan_to_num(r, nan=0.0))
    save(d, "r2", r2_score(real.astype(np.float64), pred.astype(np.float64),
                           multioutput="raw_values"))

    nd, dd = m["nd"], m["d"]
    a = load(d, "pred_d.f32", np.float32, (nd, dd))
    b = load(d, "real_d.f32", np.float32, (nd, dd))
    ta, tb = torch.from_numpy(a.astype(np.float64)), torch.from_numpy(b.astype(np.float64))
    save(d, "cosine", torch.nn.functional.cosine_similarity(ta, tb, dim=1).numpy())

    # MindEye two_way_identification (features already flattened).
    rr = np.corrcoef(b, a)
    rr = rr[:nd, nd:]
    congruents = np.diag(rr)
    success = rr < congruents
    success_cnt = np.sum(success, 0)
    save(d, "two_way", [np.mean(success_cnt) / (nd - 1)])

    # MindEye retrieval on the C draws: emb = real (clip), emb_ = pred (brain). Their
    # batchwise_cosine_similarity(Z, B) divides Z @ B.T by the norms and returns the
    # transpose, so [r, c] = cos(B_r, Z_c): fwd_sim = bcs(emb_, emb) has one row per image,
    # and top-1 per row is image -> brain (our brain_acc); bwd_sim is brain -> image.
    # The test's all-zero prediction row gives 0/0 there; metrics.h defines that cosine as 0
    # (nan_to_num), where MindEye's code would rank NaN above everything.
    def batchwise_cosine_similarity(Z, B):
        norms = Z.norm(dim=1, keepdim=True) @ B.norm(dim=1, keepdim=True).T
        return torch.nan_to_num(((Z @ B.T) / norms).T, nan=0.0)

    way, draws = m["way"], m["draws"]
    idx = load(d, "draw_idx.i64", np.int64, (draws, way))
    fwds, bwds = [], []
    for k in range(draws):
        emb = torch.nn.functional.normalize(tb[idx[k]], dim=-1)
        emb_ = torch.nn.functional.normalize(ta[idx[k]], dim=-1)
        labels = torch.arange(way)
        bwd_sim = batchwise_cosine_similarity(emb, emb_)
        fwd_sim = batchwise_cosine_similarity(emb_, emb)
        fwds.append((torch.argsort(fwd_sim, axis=1)[:, -1] == labels).double().mean().item())
        bwds.append((torch.argsort(bwd_sim, axis=1)[:, -1] == labels).double().mean().item())
    fwds, bwds = np.array(fwds), np.array(bwds)
    out = []
    for acc in (fwds, bwds):
        mean = np.mean(acc)
        sd = np.std(acc) / np.sqrt(len(acc))
        lo, hi = stats.norm.interval(0.95, loc=mean, scale=sd) if sd > 0 else (mean, mean)
        out += [mean, lo, hi]
    save(d, "retr_fwd", fwds)
    save(d, "retr_bwd", bwds)
    save(d, "retr_summary", out)
    full = (ta / ta.norm(dim=1, keepdim=True)) @ (tb / tb.norm(dim=1, keepdim=True)).T
    save(d, "cosmat", full.numpy())


def images(d, m):
    import torch
    from skimage.color import rgb2gray
    from skimage.metrics import structural_similarity as ssim

    cases = m["cases"]
    for c in range(cases):
        ih, iw, oh, ow = m[f"ih{c}"], m[f"iw{c}"], m[f"oh{c}"], m[f"ow{c}"]
        img = load(d, f"img{c}.f32", np.float32, (1, 3, ih, iw))
        out = torch.nn.functional.interpolate(torch.from_numpy(img), size=(oh, ow),
                                              mode="bilinear", align_corners=False)
        save(d, f"resized{c}", out.numpy())
    pairs, h, w = m["pairs"], m["h"], m["w"]
    pix, s_cols, s_2d, s_cols32 = [], [], [], []
    for p in range(pairs):
        a = load(d, f"a{p}.f32", np.float32, (3, h, w))
        b = load(d, f"b{p}.f32", np.float32, (3, h, w))
        pix.append(np.corrcoef(a.reshape(-1), b.reshape(-1))[0][1])
        ga = rgb2gray(a.astype(np.float64).transpose(1, 2, 0))
        gb = rgb2gray(b.astype(np.float64).transpose(1, 2, 0))
        kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
        s_cols.append(ssim(gb, ga, multichannel=True, **kw))   # MindEye: ssim(rec, im, ...)
        s_2d.append(ssim(gb, ga, **kw))
        # MindEye's own dtype: float32 tensors all the way (informational).
        ga32 = rgb2gray(a.transpose(1, 2, 0))
        gb32 = rgb2gray(b.transpose(1, 2, 0))
        s_cols32.append(ssim(gb32, ga32, multichannel=True, **kw))
    save(d, "pixcorr", pix)
    save(d, "ssim_cols", s_cols)
    save(d, "ssim_2d", s_2d)
    save(d, "ssim_cols_f32", s_cols32)


def main():
    import warnings
    warnings.filterwarnings("ignore")
    mode, d = sys.argv[1], sys.argv[2]
    meta = read_meta(d)
    {"features": features, "images": images}[mode](d, meta)


if __name__ == "__main__":
    main()
