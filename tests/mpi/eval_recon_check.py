#!/usr/bin/python3
"""eval_recon_check.py — independent check of stages/evaluate/recon.c (test_eval_recon.c).

Writes, in a fresh temporary folder, a bmc.stimuli file of 40 RGB images 48 × 64 (noise and
smooth ones) with h5py, the same images in NSD's layout (no format attribute, chunked), broken
stimuli files and the ids of 6 evaluation images with 3 branches of retrieved images (repeats
and self-retrievals included). Runs `mpiexec -n NP test_eval_recon DIR` for every NP (the C
program checks errors, rounds and failed montages itself), then checks here:
  * PixCorr and SSIM (MindEye's column mode and 2-D) against torch F.interpolate (bilinear,
    align_corners=False, antialias=False) to 425 × 425, np.corrcoef and skimage 0.19
    structural_similarity, max relative error ≤ 1e-6;
  * the scores are bit-identical for every NP;
  * the montage PNGs (read with PIL) have the size of the layout in recon.h, no .partial is
    left, every tile shows the image it should (closest of all 40 images), the header has text,
    and the montages are identical for every NP.

usage: eval_recon_check.py [--np 1 2 3] [--mpiexec M] [--numproc-flag=-n] -- EXE
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--np", type=int, nargs="+", default=[1, 2, 3])
ap.add_argument("--mpiexec", default="mpiexec")
ap.add_argument("--numproc-flag", default="-n")
ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
ap.add_argument("exe", nargs=argparse.REMAINDER)
a = ap.parse_args()
exe = [c for c in a.exe if c != "--"]

N, H, W = 40, 48, 64
M, NB, K = 6, 3, 3
TOL = 1e-6
# recon.h layout
TILE, GAP, HEADER = 128, 4, 22

failures = []


def lsan_env():
    """The environment for programs that load libcairo: under the sanitizer preset,
    LeakSanitizer's tracer crashes on a stale dynamic-TLS entry left by cairo's libraries
    when Open MPI closes an unused component (1 rank). use_tls=0 stops treating TLS as
    roots, so leaks are still reported (never hidden)."""
    env = dict(os.environ)
    if env.get("LSAN_OPTIONS"):
        env["LSAN_OPTIONS"] += ":use_tls=0"
    return env


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def make_images(rng):
    imgs = np.empty((N, H, W, 3), np.uint8)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    for n in range(N):
        if n % 3 == 0:  # noise
            imgs[n] = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        else:           # smooth: sinusoids + gradient, a little noise
            img = np.empty((H, W, 3))
            for c in range(3):
                fy, fx = rng.uniform(0.02, 0.25, 2)
                ph = rng.uniform(0, 2 * np.pi)
                img[..., c] = (0.5 + 0.35 * np.sin(fy * yy + fx * xx + ph)
                               + 0.1 * (xx / W - yy / H) * rng.uniform(-1, 1))
            img += rng.normal(0, 0.02, img.shape)
            imgs[n] = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return imgs


def write_inputs(d, imgs, eval_ids, retrieved):
    with h5py.File(os.path.join(d, "stimuli.h5"), "w") as f:
        f.attrs["format"] = "bmc.stimuli"
        f.attrs["format_version"] = np.int64(1)
        f.create_dataset("imgBrick", data=imgs)
        f.create_dataset("category", data=np.arange(N, dtype=np.int32) % 4)
    with h5py.File(os.path.join(d, "nsd.h5"), "w") as f:   # NSD: no attributes, chunked
        f.create_dataset("imgBrick", data=imgs, chunks=(1, H, W, 3))
    bad = {
        "bad_float.h5": imgs.astype(np.float32) / 255,
        "bad_channels.h5": np.zeros((N, H, W, 4), np.uint8),
        "bad_rank.h5": imgs[..., 0],
        "bad_small.h5": imgs[:, :10],
    }
    for name, data in bad.items():
        with h5py.File(os.path.join(d, name), "w") as f:
            f.attrs["format"] = "bmc.stimuli"
            f.create_dataset("imgBrick", data=data)
    with h5py.File(os.path.join(d, "no_imgbrick.h5"), "w") as f:
        f.attrs["format"] = "bmc.stimuli"
        f.create_dataset("images", data=imgs)
    os.mkdir(os.path.join(d, "isdir.png"))
    with open(os.path.join(d, "isdir.png", "keep"), "w") as f:
        f.write("a non-empty folder where the montage should go\n")
    with open(os.path.join(d, "ids.txt"), "w") as f:
        f.write(f"{M} {NB} {K}\n")
        f.write(" ".join(str(int(v)) for v in eval_ids) + "\n")
        f.write(" ".join(str(int(v)) for v in retrieved.reshape(-1)) + "\n")


def reference(imgs, eval_ids, retrieved):
    import torch
    from skimage.color import rgb2gray
    from skimage.metrics import structural_similarity as ssim

    def prep(u8):  # HWC uint8 -> CHW float32 at 425 x 425, as MindEye's Resize on tensors
        t = torch.from_numpy(u8.astype(np.float32).transpose(2, 0, 1) / np.float32(255))
        out = torch.nn.functional.interpolate(t[None], size=(425, 425), mode="bilinear",
                                              align_corners=False, antialias=False)
        return out[0].numpy()

    cache = {}

    def get(i):
        if i not in cache:
            x = prep(imgs[i])
            cache[i] = (x, rgb2gray(x.astype(np.float64).transpose(1, 2, 0)))
        return cache[i]

    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    pix, s_cols, s_2d = (np.empty((NB, M)) for _ in range(3))
    for b in range(NB):
        for i in range(M):
            gt, g_gt = get(int(eval_ids[i]))
            rec, g_rec = get(int(retrieved[b, i]))
            pix[b, i] = np.corrcoef(gt.reshape(-1), rec.reshape(-1))[0, 1]
            s_cols[b, i] = ssim(g_rec, g_gt, multichannel=True, **kw)  # MindEye: ssim(rec, im)
            s_2d[b, i] = ssim(g_rec, g_gt, **kw)
    return pix, s_cols, s_2d


def max_rel(got, want, floor=1e-2):
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), floor)))


def check_montage(path, rows, imgs, eval_ids, retrieved, what):
    from PIL import Image
    im = Image.open(path)
    width, height = GAP + (NB + 1) * (TILE + GAP), HEADER + rows * (GAP + TILE) + GAP
    check(im.size == (width, height), f"{what}: PNG size {im.size}, want {(width, height)}")
    if im.size != (width, height):
        return None
    px = np.asarray(im.convert("RGB")).astype(np.float64)
    refs = np.stack([np.asarray(Image.fromarray(x).resize((TILE, TILE), Image.BILINEAR))
                     for x in imgs]).astype(np.float64)
    worst_own, worst_margin, wrong = 0.0, np.inf, []
    for i in range(rows):
        y = HEADER + GAP + i * (TILE + GAP)
        for col in range(NB + 1):
            x = GAP + col * (TILE + GAP)
            tile = px[y:y + TILE, x:x + TILE]
            want = int(eval_ids[i]) if col == 0 else int(retrieved[col - 1, i])
            diff = np.abs(refs - tile[None]).mean(axis=(1, 2, 3))
            if int(np.argmin(diff)) != want:
                wrong.append((i, col, want, int(np.argmin(diff))))
            worst_own = max(worst_own, diff[want])
            others = np.delete(diff, want)
            worst_margin = min(worst_margin, others.min() - diff[want])
    check(not wrong, f"{what}: every tile shows its image (wrong: {wrong[:5]})")
    print(f"      {what}: mean |tile - PIL resize| ≤ {worst_own:.2f} / 255, "
          f"closest other image ≥ {worst_margin:.2f} further")
    check(worst_own < 25, f"{what}: tiles close to the images ({worst_own:.2f} / 255)")
    # gaps are white, the header holds dark text in every column
    check(np.all(px[HEADER + GAP + TILE:HEADER + 2 * GAP + TILE, :] == 255)
          and np.all(px[HEADER:, 0:GAP] == 255), f"{what}: gaps are white")
    for col in range(NB + 1):
        x = GAP + col * (TILE + GAP)
        dark = int(np.sum(px[:HEADER, x:x + TILE].min(axis=2) < 100))
        check(dark > 20, f"{what}: header of column {col} has text ({dark} dark pixels)")
    return px


def main():
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(20240611)
    imgs = make_images(rng)
    eval_ids = np.sort(rng.choice(N, M, replace=False))
    retrieved = rng.integers(0, N, (NB, M))
    retrieved[0, 2] = eval_ids[2]          # self-retrievals score 1
    retrieved[1, 5] = eval_ids[5]
    retrieved[2, 3] = retrieved[1, 3]      # repeated ids within and across branches
    retrieved[0, 1] = retrieved[0, 4] = retrieved[2, 1]
    retrieved[1, 0] = eval_ids[4]          # a retrieved image that is another eval image
    d = tempfile.mkdtemp(prefix="bmc-recon-")
    try:
        write_inputs(d, imgs, eval_ids, retrieved)
        env = lsan_env()
        for np_ in a.np:
            cmd = [a.mpiexec, a.numproc_flag, str(np_)] + exe + [d]
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=300, universal_newlines=True, env=env)
            print(f"---- {' '.join(cmd)} (exit {r.returncode})")
            print(r.stdout.rstrip())
            check(r.returncode == 0, f"np {np_}: test_eval_recon passed its own checks")
        pix, s_cols, s_2d = reference(imgs, eval_ids, retrieved)
        scores = {}
        for np_ in a.np:
            path = os.path.join(d, f"scores.np{np_}.f64")
            if not os.path.exists(path):
                check(False, f"np {np_}: {path} written")
                continue
            got = np.fromfile(path, np.float64)
            check(got.size == 3 * NB * M, f"np {np_}: {got.size} scores")
            if got.size != 3 * NB * M:
                continue
            scores[np_] = got
            g = got.reshape(3, NB, M)
            for name, c, ref in (("pixcorr", g[0], pix), ("ssim mindeye", g[1], s_cols),
                                 ("ssim 2d", g[2], s_2d)):
                err = max_rel(c, ref)
                check(err <= TOL, f"np {np_}: {name} max rel err {err:.3g} (range "
                      f"{ref.min():.3f} .. {ref.max():.3f}, max abs err "
                      f"{np.max(np.abs(c - ref)):.3g})")
        if len(scores) == len(a.np) and len(scores) > 1:
            base = scores[a.np[0]]
            check(all(s.tobytes() == base.tobytes() for s in scores.values()),
                  f"scores bit-identical for np {a.np}")
        check(not glob.glob(os.path.join(d, "**", "*.partial"), recursive=True),
              "no .partial file left")
        pngs = {}
        for np_ in a.np:
            for name, rows in (("montage", K), ("montage_all", M)):
                path = os.path.join(d, f"{name}.np{np_}.png")
                if not os.path.exists(path):
                    check(False, f"{path} exists")
                    continue
                px = check_montage(path, rows, imgs, eval_ids, retrieved, f"np {np_} {name}")
                if px is not None:
                    pngs.setdefault(name, []).append(px)
        for name, lst in pngs.items():
            check(all(np.array_equal(p, lst[0]) for p in lst),
                  f"{name}: the same pixels for every np")
    finally:
        if a.keep:
            print("kept", d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
