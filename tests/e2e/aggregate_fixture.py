#!/usr/bin/python3
"""aggregate_fixture.py — a small, complete run for bmc-aggregate written with h5py, nibabel and
PIL (no other stage runs), for tests/e2e/check_aggregate.py: S subjects, every (train, test)
pair's bmc.eval v2 file (random per-image metrics, retrieval draws of `way` < m images with
random hits), bmc.predictions and bmc.clip files, bmc.model files (a primal and a dual decoder
per subject, penalties and validation curves), bmc.fmri files whose `inputs` name ROI NIfTI
volumes and colour tables, encoding R² map folders, montage PNGs, and pipeline_info/
(config_resolved.yaml, an execution trace, software_versions.yaml) whose fingerprints match
every file, the way bmc-workflow records a run.

make_run(root, rng, subjects=(1, 2), ...) writes everything under `root` (a relative path, as
bmc-workflow's paths are) and returns the aggregate stage's config dict (inputs, outputs,
params); write_stage(cfg, path) writes it as a stage file.
"""
import hashlib
import os

import h5py
import nibabel as nib
import numpy as np
import yaml
from PIL import Image

GRID = (6, 5, 4)
ROI_FILES = {"prf-visualrois": ["V1v", "V2v"], "floc-faces": ["FFA-1"]}
GROUPS = {"detail": ["prf-visualrois:V1v", "prf-visualrois:V2v", "floc-faces:FFA-1"],
          "semantic": ["floc-faces:FFA-1"]}
TOKENS = {"detail": (3, 4), "semantic": (2, 4)}     # (tokens, width) of each CLIP dataset


def token_index(dataset):
    """The features' tokens behind a decoder's targets (detail skips the first token)."""
    return np.arange(TOKENS[dataset][0], dtype=np.int32) + (1 if dataset == "detail" else 0)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fp(name):
    return hashlib.sha256(("fixture:" + name).encode()).hexdigest()


def root_attrs(f, fmt, version, fingerprint):
    f.attrs["format"] = fmt
    f.attrs["format_version"] = np.int64(version)
    f.attrs["created_by"] = "fixture"
    f.attrs["created_at"] = "2026-01-01T00:00:00Z"
    if fingerprint:
        f.attrs["stage_fingerprint"] = fingerprint


def write_rois(root, s, rng):
    """ROI volumes and colour tables of subject s; returns {file: (nii, ctab)} and volumes."""
    d = os.path.join(root, "nsd", "subj%02d" % s)
    os.makedirs(d, exist_ok=True)
    out, vols = {}, {}
    for name, labels in ROI_FILES.items():
        vol = rng.integers(0, len(labels) + 1, GRID).astype(np.int16)
        vol[0] = -1
        nii = os.path.join(d, name + ".nii.gz")
        nib.save(nib.Nifti1Image(vol, np.eye(4)), nii)
        ctab = os.path.join(d, name + ".mgz.ctab")
        with open(ctab, "w") as f:
            f.write("0 Unknown\n" + "".join("%d %s\n" % (k + 1, n) for k, n in enumerate(labels)))
        out[name] = (nii, ctab)
        vols[name] = vol
    return out, vols


def group_voxels(vols, group):
    """ijk of the voxels in the group's ROI entries (first matching entry)."""
    lab = np.zeros(GRID, int)
    for e, entry in enumerate(GROUPS[group]):
        f, name = entry.split(":")
        val = ROI_FILES[f].index(name) + 1
        lab[(lab == 0) & (vols[f] == val)] = e + 1
    ijk = np.argwhere(lab > 0)
    order = np.lexsort((ijk[:, 0], ijk[:, 1], ijk[:, 2]))   # x fastest
    return ijk[order].astype(np.int32)


def write_fmri(path, s, rois, vols):
    with h5py.File(path, "w") as f:
        root_attrs(f, "bmc.fmri", 1, fp("fmri%d" % s))
        f.attrs["subject"] = np.int64(s)
        f.attrs["inputs"] = "\n".join("%s\t%s\n%s\t%s" % (n, sha(n), c, sha(c))
                                      for n, c in rois.values())
        for g in GROUPS:
            f["voxels/%s/ijk" % g] = group_voxels(vols, g)
            f["voxels/" + g].attrs["rois"] = "\n".join(GROUPS[g])


def write_model(path, s, fmri, rng, dual):
    with h5py.File(path, "w") as f:
        root_attrs(f, "bmc.model", 1, fp(path))
        f.attrs["subject"] = np.int64(s)
        f.attrs["fmri"] = fmri
        f.attrs["mappings"] = "detail\nsemantic"
        alphas = 10.0 ** np.arange(-1, 4)
        for name in ("detail", "semantic"):
            tok, width = TOKENS[name]
            t, p = tok * width, 7 + s + (3 if name == "detail" else 0)
            g = f.create_group("mappings/" + name)
            for k, v in dict(form="dual" if dual and name == "detail" else "primal", n=np.int64(9),
                             p=np.int64(p), t=np.int64(t), x_group=name, y_dataset=name,
                             cv="loo").items():
                g.attrs[k] = v
            g["alphas"] = alphas
            g["alpha"] = alphas[rng.integers(0, len(alphas), t)]
            g["scores"] = 1 + (np.log10(alphas)[:, None] - 1.3) ** 2 + 0.1 * rng.random((5, t))
            g["token_index"] = token_index(name)


def write_map(folder, name, group, vols, rng):
    os.makedirs(folder, exist_ok=True)
    vol = np.full(GRID, np.nan, np.float32)
    ijk = group_voxels(vols, group)
    vol[tuple(ijk.T)] = rng.uniform(-0.3, 0.7, len(ijk))
    nib.save(nib.Nifti1Image(vol, np.eye(4)), os.path.join(folder, "encoding_r2_%s.nii.gz" % name))


def write_eval(path, tr, te, m, ids, way, draws, models, fingerprint, rng, rescale="test",
               pixels=True):
    with h5py.File(path, "w") as f:
        root_attrs(f, "bmc.eval", 2, fingerprint)
        for k, v in dict(train_subject=tr, test_subject=te, cross=int(tr != te), n_eval=m,
                         way=way, draws=draws, n_align=4, n_gallery=6, seed=3,
                         align_seed=0).items():
            f.attrs[k] = np.int64(v)
        f.attrs["fusion_weight"] = 0.5
        for k, v in dict(rescale=rescale, gallery="not_test", ssim_mode="mindeye",
                         models="\n".join(models)).items():
            f.attrs[k] = v
        f["images/eval_ids"] = ids
        f["images/align_ids"] = np.arange(200, 204, dtype=np.int64)
        f["images/gallery_ids"] = np.arange(300, 306, dtype=np.int64)
        draw_rng = np.random.default_rng(99)        # the same draws in every file (same seed)
        f["images/retrieval_draws"] = np.array([ids[draw_rng.permutation(m)[:way]]
                                                for _ in range(draws)], np.int64)
        for b in ("detail", "semantic", "fused"):
            g = f.create_group(b)
            lev = {"detail": 0.0, "semantic": -0.05, "fused": 0.03}[b]
            per = dict(cosine_global=0.8 + lev + 0.05 * rng.standard_normal(m),
                       cosine_all=0.7 + lev + 0.05 * rng.standard_normal(m),
                       two_way_per_image=np.clip(0.85 + lev + 0.1 * rng.standard_normal(m), 0, 1))
            if pixels:
                per["pixcorr"] = 0.2 + lev + 0.1 * rng.standard_normal(m)
                per["ssim"] = 0.7 + lev + 0.05 * rng.standard_normal(m)
            for k, v in per.items():
                g[k] = v
                g.attrs[k if k != "two_way_per_image" else "two_way"] = v.mean()
            for k in ("image", "brain"):
                hits = (rng.random((draws, way)) < 0.4 + lev).astype(np.uint8)
                g["retrieval_%s_hits" % k] = hits
                acc = hits.mean(1)
                g["retrieval_" + k] = acc
                g.attrs["retrieval_%s_mean" % k] = acc.mean()
            if b != "fused":
                tok, width = TOKENS[b]
                g["pearson"] = rng.uniform(0.2, 0.7, tok * width)
                g["r2"] = rng.uniform(-0.1, 0.4, tok * width)
                for k in ("pearson", "r2"):
                    g.attrs[k] = g[k][:].mean()
                for k, v in dict(mapping=b, x_group=b, y_dataset=b, form="primal").items():
                    g.attrs[k] = v
                g.attrs["t"] = np.int64(tok * width)


def write_predictions(path, tr, te, ids, feat_real, fingerprint, rng):
    with h5py.File(path, "w") as f:
        root_attrs(f, "bmc.predictions", 1, fingerprint)
        f.attrs["train_subject"] = np.int64(tr)
        f.attrs["test_subject"] = np.int64(te)
        f["image_ids"] = ids
        for b, real in feat_real.items():
            pred = 0.6 * real + 0.4 * rng.standard_normal(real.shape)
            if b == "detail":
                pred[:, 0, 0] = 1.5            # a constant prediction column: r = 0
            f[b] = pred.astype(np.float32)


def make_run(root, rng, subjects=(1, 2), m=24, way=10, draws=5, pixels=True):
    os.makedirs(root, exist_ok=True)
    n_feat = 40
    ids = np.sort(rng.choice(np.arange(1000, 1100), m, replace=False)).astype(np.int64)
    feat_ids = np.concatenate([ids, np.arange(2000, 2000 + n_feat - m)]).astype(np.int64)
    feats = {b: rng.standard_normal((n_feat, tok + 1, w)).astype(np.float32)
             for b, (tok, w) in TOKENS.items()}
    feats["detail"][:, 3, 1] = 0.25                  # a constant real column (R² rule)
    clip = os.path.join(root, "features", "clip.h5")
    os.makedirs(os.path.dirname(clip), exist_ok=True)
    with h5py.File(clip, "w") as f:
        root_attrs(f, "bmc.clip", 1, fp("clip"))
        f["image_ids"] = feat_ids
        for b, v in feats.items():
            f[b] = v
    inst = [dict(instance="clip_features", stage="clip_features", fingerprint=fp("clip"),
                 outputs=dict(features=clip), params={"outputs": ["detail", "semantic"]})]
    models, maps = [], []
    for s in subjects:
        rois, vols = write_rois(root, s, rng)
        fmri = os.path.join(root, "fmri", "fmri_subj%02d.h5" % s)
        os.makedirs(os.path.dirname(fmri), exist_ok=True)
        write_fmri(fmri, s, rois, vols)
        model = os.path.join(root, "models", "model_subj%02d.h5" % s)
        os.makedirs(os.path.dirname(model), exist_ok=True)
        write_model(model, s, fmri, rng, dual=s % 2 == 0)
        folder = os.path.join(root, "models", "maps_subj%02d" % s)
        write_map(folder, "detail_to_detail", "detail", vols, rng)
        write_map(folder, "semantic_to_semantic", "semantic", vols, rng)
        with open(folder + ".fingerprint", "w") as f:
            f.write(fp(model) + "\n")
        models.append(model)
        maps.append(folder)
        inst.append(dict(instance="train[%d]" % s, stage="train", fingerprint=fp(model),
                         outputs=dict(model=model, maps=folder), params={"subject": s}))
    evals, preds, montages = [], [], []
    rows = {b: [int(np.where(feat_ids == i)[0][0]) for i in ids] for b in TOKENS}
    for tr in subjects:
        for te in subjects:
            name = "evaluate[%d,%d]" % (tr, te)
            f_ = fp(name)
            ev = os.path.join(root, "eval", "eval_subj%02d_on_subj%02d.h5" % (tr, te))
            pr = os.path.join(root, "eval", "predicted_subj%02d_on_subj%02d.h5" % (tr, te))
            mo = os.path.join(root, "eval", "montage_subj%02d_on_subj%02d.png" % (tr, te))
            os.makedirs(os.path.dirname(ev), exist_ok=True)
            write_eval(ev, tr, te, m, ids, way, draws,
                       [models[subjects.index(tr)]], f_, rng, pixels=pixels)
            real = {b: feats[b][rows[b]][:, token_index(b), :] for b in TOKENS}
            write_predictions(pr, tr, te, ids, real, f_, rng)
            Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(mo)
            with open(mo + ".fingerprint", "w") as f:
                f.write(f_ + "\n")
            evals.append(ev)
            preds.append(pr)
            montages.append(mo)
            inst.append(dict(instance=name, stage="evaluate", fingerprint=f_,
                             outputs=dict(eval=ev, predictions=pr, montage=mo),
                             params=dict(train_subject=tr, test_subject=te)))
    outputs = dict(md=os.path.join(root, "summary.md"), csv=os.path.join(root, "summary.csv"),
                   json=os.path.join(root, "summary.json"), html=os.path.join(root, "index.html"),
                   figures=os.path.join(root, "figures"))
    inst.append(dict(instance="aggregate", stage="aggregate", fingerprint=fp("aggregate"),
                     outputs=outputs, params={}))
    info = os.path.join(root, "pipeline_info")
    os.makedirs(os.path.join(info, "stages"), exist_ok=True)
    with open(os.path.join(info, "config_resolved.yaml"), "w") as f:
        yaml.safe_dump(dict(workflow="fixture", run="fixture", run_dir=root, launcher="mpiexec",
                            instances=inst, future_key={"tolerated": True}), f, sort_keys=False)
    with open(os.path.join(info, "execution_trace_20260101T000000Z.tsv"), "w") as f:
        f.write("instance\tstatus\textra_column\twall_s\tranks\tfingerprint\n")
        for k, i in enumerate(inst[:-1]):
            f.write("%s\tCOMPLETED\tx\t%.3f\t2\t%s\n" % (i["instance"], 0.5 + 0.1 * k,
                                                        i["fingerprint"]))
    with open(os.path.join(info, "software_versions.yaml"), "w") as f:
        f.write('bmc-workflow:\n  version: "0.1.0"\nhdf5: "1.10.8"\n')
    return dict(stage="aggregate", instance="aggregate", fingerprint=fp("aggregate"),
                inputs=dict(evals=evals, models=models, maps=maps, predictions=preds,
                            montages=montages, features=clip),
                outputs=outputs, params=dict(resamples=200, seed=5, dpi=100))


def write_stage(cfg, path):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
