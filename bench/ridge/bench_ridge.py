#!/usr/bin/env python3
"""bench_ridge.py — bmc-train's distributed ridge solver against scikit-learn and NumPy, side by side.

On the same HDF5 data (X = low-rank signal + noise, Y = X·B + noise with per-target noise
levels, float64) and the same penalty grid, in one script at the same thread count: wall time,
peak memory (getrusage maxrss; the solver's tracked peak), GFLOP/s of the GEMM phases against
this machine's dgemm rate, and the largest relative difference of predictions and chosen
penalties of
  * bmc: bench_ridge (ridge_fit + ridge_predict, mpirun -np P, OPENBLAS_NUM_THREADS = T);
    mode loo is bmc-train's default (score_precision mixed: float32 screen, near ties
    rescored in float64), loo-double scores everything in float64,
  * sklearn: RidgeCV(alphas, alpha_per_target=True) (exact LOO, "gcv_mode=auto": eigen of X·Xᵀ
    for n ≤ p), threads capped with threadpoolctl to the same total,
  * numpy: the same eigendecomposition algorithm as ridge.c in NumPy (eigh of Xc·Xcᵀ + 1·1ᵀ,
    projections, one GEMM per penalty for LOO; the GCV trace formula from the projections).
Each reference runs in a child process (its own peak memory). Then a scaling table (1 and 2
ranks, grids 1x1, 1x2, 2x1).

usage: bench_ridge.py --build BUILD_DIR [--sizes s1,s2,s3,s4] [--scaling s2] [--out results.md]
                      [--work /tmp/bench_ridge] [--skip numpy@s3,...]
"""
import argparse, json, os, resource, subprocess, sys, time

import numpy as np

ALPHAS = np.logspace(-2, 6, 17)
ALPHA_ARG = "logspace:-2:6:17"
# name: (n, p, t, mode(s), implementations, memory budget MiB per rank)
SIZES = {
    "tiny": (300, 500, 50, ["loo", "gcv"], 64),  # smoke test of the script
    "s1": (2000, 4000, 768, ["loo", "loo-double", "gcv"], 1024),
    "s2": (4000, 8000, 768, ["loo", "loo-double", "gcv"], 2048),
    "s3": (9000, 15000, 768, ["loo", "loo-double"], 8192),
    "s4": (2000, 4000, 20000, ["gcv", "loo", "loo-double"], 1024),
}
M_TEST = 200


def make_data(path, n, p, t, seed=7):
    """X = F·L + noise (rank-60 signal, decaying), Y = X·B + noise, B of rank 40."""
    import h5py
    if os.path.exists(path):
        return
    rng = np.random.default_rng(seed)
    k, kb = 60, 40
    L = rng.standard_normal((k, p)) * (1.0 / np.sqrt(1 + np.arange(k)))[:, None]
    B = (rng.standard_normal((p, kb)) / np.sqrt(p)) @ rng.standard_normal((kb, t))
    noise = np.exp(rng.uniform(np.log(0.05), np.log(20.0), t))  # per-target noise level
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        for name, rows in (("X", n), ("Xt", M_TEST)):
            d = f.create_dataset(name, (rows, p), "f8")
            for r0 in range(0, rows, 1000):
                r1 = min(rows, r0 + 1000)
                F = rng.standard_normal((r1 - r0, k))
                d[r0:r1] = F @ L + 0.5 * rng.standard_normal((r1 - r0, p)) + 0.1
                if name == "X":
                    Yd = f.require_dataset("Y", (n, t), "f8")
                    x = d[r0:r1]
                    Yd[r0:r1] = x @ B + noise * rng.standard_normal((r1 - r0, t)) + 1.0
    os.replace(tmp, path)


def load(path, names=("X", "Y", "Xt")):
    import h5py
    with h5py.File(path, "r") as f:
        return [f[n][...] for n in names]


# ---- references (run in a child: python bench_ridge.py --worker KIND ...) ----------------

def numpy_ridge(X, Y, Xt, mode):
    """ridge.c's algorithm (dual form, n ≤ p) in NumPy: chosen alphas and predictions."""
    n = X.shape[0]
    assert n <= X.shape[1], "the NumPy reference implements the dual (n <= p) form"
    xm, ym = X.mean(0), Y.mean(0)
    Xc = X - xm
    K = Xc @ Xc.T
    K += 1.0
    s, Q = np.linalg.eigh(K)
    del K
    P = Q.T @ (Y - ym)
    idim = int(np.argmax(np.abs(Q.sum(0))))
    scores = np.empty((len(ALPHAS), Y.shape[1]))
    for a, al in enumerate(ALPHAS):
        w = 1.0 / (s + al)
        w[idim] = 0.0
        if mode == "loo":
            gd = (Q * Q) @ w
            c = Q @ (w[:, None] * P)
            scores[a] = ((c / gd[:, None]) ** 2).mean(0)
        else:
            rss = (((al * w)[:, None] * P) ** 2).sum(0)
            sj = np.delete(s, idim)
            df = 1.0 + np.sum(sj / (sj + al))
            scores[a] = n * rss / (n - df) ** 2
    best = np.argmin(scores, axis=0)
    W = 1.0 / (s[:, None] + ALPHAS[best][None, :])
    W[idim] = 0.0
    C = Q @ (W * P)
    coef = Xc.T @ C
    return ALPHAS[best], Xt @ coef + (ym - xm @ coef)


def worker(a):
    X, Y, Xt = load(a.data)
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    try:
        from threadpoolctl import threadpool_limits, threadpool_info
        limiter = threadpool_limits(threads)
        info = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    except ImportError:
        limiter, info = None, "threadpoolctl missing"
    t0 = time.perf_counter()
    if a.worker == "sklearn":
        from sklearn.linear_model import RidgeCV
        m = RidgeCV(alphas=ALPHAS, alpha_per_target=True, fit_intercept=True).fit(X, Y)
        fit_s = time.perf_counter() - t0
        best, pred = np.asarray(m.alpha_, float), m.predict(Xt)
    else:
        best, pred = numpy_ridge(X, Y, Xt, a.mode)
        fit_s = time.perf_counter() - t0
    np.save(a.result + ".pred.npy", pred)
    np.save(a.result + ".alpha.npy", best)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(dict(fit_s=fit_s, maxrss=rss, threads=str(info))), flush=True)
    del limiter


# ---- driver ---------------------------------------------------------------------------

def run(cmd, env, log):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        log(f"FAILED {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
        return None
    return dict(json.loads(p.stdout.strip().splitlines()[-1]), wall_s=wall)


def run_bmc(a, data, mode, ranks, grid, threads, budget, tag, log):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS=str(threads))
    out = os.path.join(a.work, f"bmc_{tag}.h5")
    cmd = ["mpirun", "-np", str(ranks), "--bind-to", "none",
           os.path.join(a.build, "bench", "bench_ridge"), "--data", data, "--out", out,
           "--mode", mode, "--grid", grid, "--alphas", ALPHA_ARG,
           "--mem-budget-mib", str(budget)]
    r = run(cmd, env, log)
    if r is not None:
        import h5py
        with h5py.File(out, "r") as f:
            r["pred"], r["alpha"] = f["pred"][...], f["best_alpha"][...]
    return r


def run_ref(a, kind, data, mode, threads, tag, log):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    res = os.path.join(a.work, f"{kind}_{tag}")
    r = run([sys.executable, os.path.abspath(__file__), "--worker", kind, "--data", data,
             "--mode", mode.split("-")[0], "--result", res], env, log)
    if r is not None:
        r["pred"], r["alpha"] = np.load(res + ".pred.npy"), np.load(res + ".alpha.npy")
    return r


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def alpha_diff(a, b):
    return float(np.max(np.abs(a - b) / b)), float(np.mean(np.isclose(a, b, rtol=1e-12, atol=0)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build")
    ap.add_argument("--sizes", default="s1,s2,s4,s3")
    ap.add_argument("--scaling", default="s2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of every implementation and size; the fastest fit is kept "
                         "(a shared VM's page faults and neighbours add noise)")
    ap.add_argument("--work", default="/tmp/bench_ridge")
    ap.add_argument("--modes", default="", help="only these modes (e.g. loo,gcv); default all")
    ap.add_argument("--skip", default="", help="impl@size,... to leave out (e.g. numpy@s3)")
    ap.add_argument("--out")
    ap.add_argument("--worker"), ap.add_argument("--data"), ap.add_argument("--mode")
    ap.add_argument("--result")
    a = ap.parse_args()
    if a.worker:
        return worker(a)
    os.makedirs(a.work, exist_ok=True)
    skip = set(a.skip.split(",")) if a.skip else set()
    T = a.threads
    rows, scal = [], []

    def best_of(fn, *args):
        """The run with the smallest fit time of a.repeat runs (None if any failed)."""
        best = None
        for _ in range(max(1, a.repeat)):
            r = fn(*args)
            if r is None:
                return None
            if best is None or r["fit_s"] < best["fit_s"]:
                best = r
        return best

    def log(msg):
        print(msg, flush=True)

    for size in a.sizes.split(","):
        n, p, t, modes, budget = SIZES[size]
        data = os.path.join(a.work, f"data_{n}_{p}_{t}.h5")
        t0 = time.perf_counter()
        make_data(data, n, p, t)
        log(f"# {size}: n={n} p={p} t={t} data ready ({time.perf_counter() - t0:.0f} s)")
        sk = None
        for mode in modes:
            if a.modes and mode not in a.modes.split(","):
                continue
            tag = f"{size}_{mode}"
            b = best_of(run_bmc, a, data, mode, 1, "1x1", T, budget, tag, log)
            if b is None:
                continue
            log(json.dumps({k: v for k, v in b.items() if k not in ("pred", "alpha")}))
            if f"sklearn@{size}" not in skip and f"sklearn@{size}_{mode}" not in skip and sk is None:
                sk = best_of(run_ref, a, "sklearn", data, mode, T, size, log)
                if sk:
                    log(f"sklearn {size}: fit {sk['fit_s']:.2f} s maxrss {sk['maxrss'] / 2**30:.2f} GiB {sk['threads']}")
            nu = None
            if mode != "loo-double" and f"numpy@{size}" not in skip and f"numpy@{size}_{mode}" not in skip:
                nu = best_of(run_ref, a, "numpy", data, mode, T, tag, log)
                if nu:
                    log(f"numpy {tag}: fit {nu['fit_s']:.2f} s maxrss {nu['maxrss'] / 2**30:.2f} GiB")
            row = dict(size=size, n=n, p=p, t=t, mode=mode, bmc=b, sk=sk, nu=nu)
            rows.append(row)
            log(format_row(row))
        if size == a.scaling:
            for ranks, grid, thr in ((1, "1x1", 1), (1, "1x1", 2), (2, "1x2", 1), (2, "2x1", 1)):
                b = best_of(run_bmc, a, data, "loo", ranks, grid, thr, budget,
                            f"{size}_scal_{grid}_{ranks}_{thr}", log)
                if b:
                    scal.append(dict(size=size, n=n, p=p, t=t, ranks=ranks, grid=grid, thr=thr, b=b))
                    log(format_scal(scal[-1]))
    text = tables(rows, scal)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


HDR = ("| size n×p×t | mode | impl | fit s | vs bmc | peak RSS GiB | tracked peak / budget GiB | "
       "Gram GF/s | score GF/s | solve GF/s | dgemm GF/s | max rel diff pred | max rel diff α (equal α) |\n"
       "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def format_row(r):
    b, out = r["bmc"], []
    shape = f"{r['n']}×{r['p']}×{r['t']}"
    ph, dg = b["phases"], b["dgemm_gflops"]
    pct = lambda x: f"{x:.1f} ({100 * x / dg:.0f}%)"
    mode = r["mode"] + (f" (mixed; {b['rescored']} rescored)" if b.get("mixed") else "")
    out.append(f"| {shape} | {mode} | bmc | {b['fit_s']:.2f} | 1 | {b['maxrss'] / 2**30:.2f} | "
               f"{b['mem_peak'] / 2**30:.2f} / {b['mem_budget'] / 2**30:.2f} | {pct(ph['gram']['gflops'])} | "
               f"{pct(ph['score']['gflops'])} | {pct(ph['solve']['gflops'])} | {dg:.1f} | – | – |")
    for name, ref in (("sklearn RidgeCV (LOO)", r["sk"]), ("numpy (same algorithm)", r["nu"])):
        if ref is None:
            continue
        ad, eq = alpha_diff(b["alpha"], ref["alpha"])
        out.append(f"| {shape} | {r['mode']} | {name} | {ref['fit_s']:.2f} | "
                   f"{ref['fit_s'] / b['fit_s']:.2f}× slower | {ref['maxrss'] / 2**30:.2f} | – | – | – | – | – | "
                   f"{rel(b['pred'], ref['pred']):.1e} | {ad:.1e} ({100 * eq:.1f}%) |")
    return "\n".join(out)


SHDR = ("| size n×p×t | ranks × threads | grid | fit s | speed-up vs 1×1, 1 thread | gram s | eig s | load s | "
        "score s | solve s | score GF/s | tracked peak/rank GiB | max RSS/rank GiB |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def format_scal(s, base=None):
    b, ph = s["b"], s["b"]["phases"]
    sp = f"{base / b['fit_s']:.2f}" if base else "–"
    return (f"| {s['n']}×{s['p']}×{s['t']} | {s['ranks']} × {s['thr']} | {s['grid']} | {b['fit_s']:.2f} | {sp} | "
            f"{ph['gram']['s']:.2f} | {ph['eig']['s']:.2f} | {ph['load']['s']:.2f} | {ph['score']['s']:.2f} | "
            f"{ph['solve']['s']:.2f} | {ph['score']['gflops']:.1f} | {b['mem_peak'] / 2**30:.2f} | "
            f"{b['maxrss'] / 2**30:.2f} |")


def tables(rows, scal):
    text = HDR + "".join(format_row(r) + "\n" for r in rows)
    text += "\nPhases of bmc (s): " + "; ".join(
        f"{r['size']} {r['mode']}: " + ", ".join(f"{k} {v['s']:.2f}" for k, v in r["bmc"]["phases"].items())
        + f", predict {r['bmc']['predict_s']:.2f}" for r in rows) + "\n"
    if scal:
        base = scal[0]["b"]["fit_s"]
        text += "\n" + SHDR + "".join(format_scal(s, base) + "\n" for s in scal)
    return text


if __name__ == "__main__":
    sys.exit(main())
