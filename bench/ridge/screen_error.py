#!/usr/bin/env python3
"""screen_error.py — how far the float32 screen of bmc's MIXED LOO scoring is from float64.

On a bench_ridge.py data file (dual form, n ≤ p), recomputes in NumPy what ridge.c does for
exact LOO with score_precision mixed: the eigendecomposition of Xc·Xcᵀ + 1·1ᵀ (intercept
direction zero-weighted), then per penalty c = Q·(w ∘ Qᵀ·Yc) once in float64 and once with Q and
the scaled projection in float32 (one sgemm, as the screen), and the LOO scores mean((c/G⁻¹ᵢᵢ)²)
of both. Prints the screen's relative score error (max, median, 99.9 % quantile), how many
targets and (target, penalty) pairs fall within a tie margin τ of a target's lowest screened
score (what ridge.c rescores in float64), and for how many targets the screen alone would
pick another penalty. Justifies RIDGE_MIXED_TIE (ridge.h): τ must sit well above the error.

usage: screen_error.py DATA.h5 [--taus 1e-4,1e-5,1e-6]
"""
import argparse

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--taus", default="1e-4,1e-5,1e-6")
    a = ap.parse_args()
    with h5py.File(a.data, "r") as f:
        X, Y = f["X"][...], f["Y"][...]
    n = X.shape[0]
    assert n <= X.shape[1], "the screen applies to the dual form (n <= p)"
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    s, Q = np.linalg.eigh(Xc @ Xc.T + 1.0)
    idim = np.argmax(np.abs(Q.sum(0)))
    P = Q.T @ Yc
    Q32 = Q.astype(np.float32)
    exact, screen = [], []
    for alpha in np.logspace(-2, 6, 17):
        w = 1.0 / (s + alpha)
        w[idim] = 0.0
        gd = (Q * Q) @ w
        Z = w[:, None] * P
        exact.append((((Q @ Z) / gd[:, None]) ** 2).mean(0))
        c32 = (Q32 @ Z.astype(np.float32)).astype(np.float64)
        screen.append(((c32 / gd[:, None]) ** 2).mean(0))
    exact, screen = np.array(exact), np.array(screen)
    err = np.abs(screen - exact) / exact
    print(f"n = {n}, t = {Y.shape[1]}: screen score error max {err.max():.2e}, "
          f"median {np.median(err):.2e}, 99.9% {np.quantile(err, 0.999):.2e}")
    low = screen.min(0)
    for tau in (float(x) for x in a.taus.split(",")):
        near = screen <= low * (1 + tau)
        tied = near.sum(0) > 1
        print(f"  tau {tau:g}: targets near a tie {tied.mean():.1%}, "
              f"(target, penalty) pairs rescored {near[:, tied].sum()} of {screen.size}")
    print(f"  targets whose screen-only choice differs from float64's: "
          f"{int((screen.argmin(0) != exact.argmin(0)).sum())}")


if __name__ == "__main__":
    main()
