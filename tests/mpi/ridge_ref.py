#!/usr/bin/env python3
"""ridge_ref.py - writes random ridge problems, runs test_ridge on N ranks (and on 1 rank), and
checks its results against scikit-learn's RidgeCV(alpha_per_target=True, fit_intercept=True)
(exact LOO) and NumPy references (GCV trace formula, k-fold with explicit solves, token/group
choice), to 1e-8 relative; results of every grid shape and rank count agree to 1e-10.
Not here: the solver (stages/train/ridge.c) or its error handling (test_ridge --errors).
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
from sklearn.linear_model import RidgeCV

LOO, GCV, KFOLD = 0, 1, 2
TARGET, TOKEN, GROUP = 0, 1, 2
ALPHAS = np.logspace(-2, 6, 17)
FAILS = []


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        FAILS.append(msg)


def rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def make_case(root, name, rng, n, p, t, m=23, mode=LOO, k=0, grain=TARGET, token=0,
              groups=None, weights=None, budget=0, nb=8, const_col=None, precision=0,
              const_y=(), yscale=1.0):
    d = os.path.join(root, name)
    os.makedirs(d)
    # Correlated features with a decaying spectrum, targets from a sparse-ish linear map.
    X = rng.standard_normal((n, p)) @ np.diag(1.0 / (1 + np.arange(p)) ** 0.5) + 0.3
    Xt = rng.standard_normal((m, p)) @ np.diag(1.0 / (1 + np.arange(p)) ** 0.5) + 0.3
    if const_col is not None:
        X[:, const_col] = 1.7
        Xt[:, const_col] = 1.7
    B = rng.standard_normal((p, t)) * (rng.random((p, t)) < 0.3)
    noise = np.logspace(-1, 1, t)
    Y = X @ B + noise * rng.standard_normal((n, t)) + np.arange(t)
    for j in const_y:  # every penalty scores exactly 0: ties that MIXED must rescore
        Y[:, j] = 0.5 * j
    Y *= yscale  # beyond float32's range either way: the screen must rescale
    for arr, fn in ((X, "X.bin"), (Y, "Y.bin"), (Xt, "Xt.bin")):
        np.ascontiguousarray(arr, dtype=np.float64).tofile(os.path.join(d, fn))
    meta = dict(n=n, p=p, t=t, m=m, na=len(ALPHAS), mode=mode, k=k, grain=grain, token=token,
                ngroups=0 if groups is None else int(max(groups)) + 1, nb=nb, budget=budget,
                precision=precision)
    with open(os.path.join(d, "meta.txt"), "w") as f:
        for key, v in meta.items():
            f.write(f"{key} {v}\n")
        f.write("alphas %d %s\n" % (len(ALPHAS), " ".join(repr(float(a)) for a in ALPHAS)))
        if groups is not None:
            f.write("group_of %d %s\n" % (t, " ".join(str(int(g)) for g in groups)))
            f.write("weights %d %s\n" % (len(weights), " ".join(repr(float(w)) for w in weights)))
    return d, dict(meta, X=X, Y=Y, Xt=Xt, groups=groups, weights=weights, const_col=const_col,
                   const_y=const_y)


def solve(X, Y, alpha):
    """Ridge with an unpenalised intercept by explicit solves: (W, intercept)."""
    xm, ym = X.mean(0), Y.mean(0)
    Xc, Yc = X - xm, Y - ym
    W = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(X.shape[1]), Xc.T @ Yc)
    return W, ym - xm @ W


def gcv_scores(X, Y):
    n = X.shape[0]
    Xc = X - X.mean(0)
    s = np.clip(np.linalg.svd(Xc, compute_uv=False) ** 2, 0, None)
    out = []
    for a in ALPHAS:
        W, b = solve(X, Y, a)
        rss = ((Y - X @ W - b) ** 2).sum(0)
        df = 1 + np.sum(s / (s + a))
        out.append(n * rss / (n - df) ** 2)
    return np.array(out)


def kfold_scores(X, Y, k):
    n = X.shape[0]
    out = np.zeros((len(ALPHAS), Y.shape[1]))
    for f in range(k):
        r0, r1 = f * n // k, (f + 1) * n // k
        tr = np.r_[0:r0, r1:n]
        for i, a in enumerate(ALPHAS):
            W, b = solve(X[tr], Y[tr], a)
            out[i] += ((Y[r0:r1] - X[r0:r1] @ W - b) ** 2).mean(0) / k
    return out


def select(c, scores):
    """The documented granularity rules on a score matrix (n_alpha x t)."""
    t = scores.shape[1]
    if c["grain"] == TARGET:
        return np.argmin(scores, axis=0), None
    if c["grain"] == TOKEN:
        gid = np.arange(t) // c["token"]
    else:
        gid = np.asarray(c["groups"])
    G = gid.max() + 1
    means = np.stack([scores[:, gid == g].mean(1) for g in range(G)], axis=1)
    if c["grain"] == TOKEN:
        return np.argmin(means, axis=0)[gid], means
    obj = sum(c["weights"][g] * means[:, g] / means[:, g].min() for g in range(G))
    return np.full(t, np.argmin(obj)), means


def reference(c):
    X, Y, Xt = c["X"], c["Y"], c["Xt"]
    if c["mode"] == LOO:
        cv = RidgeCV(alphas=ALPHAS, alpha_per_target=True, fit_intercept=True,
                     store_cv_values=True).fit(X, Y)
        scores = cv.cv_values_.mean(axis=0).T
        if c["grain"] == TARGET:
            best = np.array([int(np.where(ALPHAS == a)[0][0]) for a in cv.alpha_])
            return scores, best, None, cv.predict(Xt)
    elif c["mode"] == GCV:
        scores = gcv_scores(X, Y)
    else:
        scores = kfold_scores(X, Y, c["k"])
    best, means = select(c, scores)
    pred = np.zeros((Xt.shape[0], Y.shape[1]))
    for j in range(Y.shape[1]):
        W, b = solve(X, Y[:, j:j + 1], ALPHAS[best[j]])
        pred[:, j] = (Xt @ W + b)[:, 0]
    return scores, best, means, pred


def load(d, kind, grid, shape):
    return np.fromfile(os.path.join(d, f"{kind}_{grid}.bin")).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--np", type=int, required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--numproc-flag", default="-n")
    ap.add_argument("exe", nargs="+")
    a = ap.parse_args()
    rng = np.random.default_rng(20251)
    with tempfile.TemporaryDirectory(prefix="ridge_") as root:
        cases = [
            make_case(root, "loo_dual", rng, 60, 90, 7),
            make_case(root, "loo_primal", rng, 90, 40, 5),
            make_case(root, "gcv_dual", rng, 60, 90, 7, mode=GCV),
            make_case(root, "gcv_primal", rng, 90, 40, 5, mode=GCV),
            make_case(root, "kfold_dual", rng, 60, 90, 7, mode=KFOLD, k=5),
            make_case(root, "kfold_primal", rng, 90, 40, 5, mode=KFOLD, k=4, nb=5),
            make_case(root, "token_dual", rng, 30, 50, 120, grain=TOKEN, token=3, budget=1),
            make_case(root, "group_primal", rng, 90, 40, 6, grain=GROUP,
                      groups=[0, 0, 1, 1, 1, 2], weights=[1.0, 0.5, 2.0]),
            make_case(root, "budget_primal", rng, 50, 12, 60, budget=1, nb=3),
            make_case(root, "budget_kfold", rng, 50, 12, 60, mode=KFOLD, k=3, budget=1, nb=4),
            make_case(root, "constcol_primal", rng, 90, 40, 5, const_col=3),
            make_case(root, "constcol_dual", rng, 60, 90, 7, const_col=0),
            # Blocks larger than the eigenproblem: Q on one process, Y's 80 columns on two
            # process columns (pdsyevd as shipped leaves the other processes' eigenvalues
            # unsorted there; bmc_syevd.h).
            make_case(root, "bigblock_primal", rng, 60, 25, 80, nb=64),
            make_case(root, "bigblock_dual", rng, 30, 50, 80, nb=64),
            # MIXED: float32 screen, near ties rescored in float64 (constant targets tie at
            # every penalty); one block, then several blocks with more ties than one
            # rescoring GEMM takes (64 columns) in runs and gaps.
            make_case(root, "mixed_dual", rng, 60, 90, 9, precision=1, const_y=(2, 3, 7)),
            make_case(root, "mixed_blocks", rng, 40, 70, 400, precision=1, budget=1,
                      const_y=tuple(j for j in range(380) if j % 7 != 3) + (391, 392)),
            # targets below float32's normal range and above its largest value
            make_case(root, "mixed_tiny", rng, 60, 90, 9, precision=1, yscale=1e-42),
            make_case(root, "mixed_huge", rng, 60, 90, 9, precision=1, yscale=1e42),
            # MIXED where it does not apply (primal, k-fold): plain float64
            make_case(root, "mixed_primal", rng, 90, 40, 5, precision=1),
            make_case(root, "mixed_kfold", rng, 60, 90, 7, mode=KFOLD, k=5, precision=1),
            # wide enough for test_ridge's exact check of streamed 64-column blocks against
            # the unblocked fit (past the BLAS's small-matrix kernels)
            make_case(root, "stream_primal", rng, 200, 150, 200),
            make_case(root, "stream_dual", rng, 120, 220, 200, mode=KFOLD, k=3, precision=1),
            make_case(root, "stream_loo", rng, 40, 70, 400),
        ]
        grids = [f"{r}x{a.np // r}" for r in range(1, a.np + 1) if a.np % r == 0]
        runs = [1, a.np] if a.np > 1 else [1]
        for np_ in runs:
            cmd = [a.mpiexec, a.numproc_flag, str(np_)] + a.exe + [d for d, _ in cases]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=570)
            sys.stdout.write(r.stdout)
            sys.stderr.write(r.stderr)
            check(r.returncode == 0, f"test_ridge on {np_} rank(s) exit {r.returncode}")
            if r.returncode != 0:
                return 1
        for d, c in cases:
            name = os.path.basename(d)
            scores, best, means, pred = reference(c)
            t, na = c["t"], len(ALPHAS)
            base = None
            for grid in ["1x1"] + [g for g in grids if g != "1x1"]:
                got_best = load(d, "best", grid, (t,)).astype(int)
                got_scores = load(d, "scores", grid, (na, t))
                got_pred = load(d, "pred", grid, (c["m"], t))
                info = load(d, "info", grid, (4,))
                tag = f"{name} grid {grid}"
                # MIXED applies to LOO per target in the dual form; its screened scores carry
                # float32 rounding, the chosen penalties and predictions are float64's.
                mixed = c["precision"] == 1 and c["mode"] == LOO and c["n"] <= c["p"]
                stol = 1e-6 if mixed else 1e-8
                check(int(info[3]) == int(mixed), f"{tag}: mixed screen ran: {int(info[3])}")
                if mixed:
                    want = len(c["const_y"])
                    check(int(info[2]) >= want, f"{tag}: rescored {int(info[2])} >= {want} ties")
                check(np.array_equal(got_best, best), f"{tag}: chosen alphas {got_best} vs {best}")
                check(rel(got_pred, pred) <= 1e-8, f"{tag}: predictions rel err {rel(got_pred, pred):.2e}")
                check(rel(got_scores, scores) <= stol, f"{tag}: scores rel err {rel(got_scores, scores):.2e}")
                if means is not None:
                    gs = load(d, "gscores", grid, (na, means.shape[1]))
                    check(rel(gs, means) <= 1e-8, f"{tag}: group scores rel err {rel(gs, means):.2e}")
                want_zero = 0 if c["const_col"] is None else 1
                check(int(info[0]) == want_zero, f"{tag}: zero-variance columns {int(info[0])}")
                if c["budget"]:
                    check(0 < info[1] < t, f"{tag}: budget gave blocks of {int(info[1])} columns")
                if base is None:
                    base = (got_scores, got_pred)
                else:
                    e1, e2 = rel(got_scores, base[0]), rel(got_pred, base[1])
                    check(e1 <= (1e-6 if mixed else 1e-10) and e2 <= 1e-10,
                          f"{tag}: vs 1x1 scores {e1:.1e} predictions {e2:.1e}")
    print(f"{len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
