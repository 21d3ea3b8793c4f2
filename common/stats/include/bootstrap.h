/* bootstrap.h — the seeded nonparametric bootstrap every brainmclip statistic uses.
 *
 * Resample b of n items (test images) draws n items with replacement from a splitmix64 stream
 * keyed by (seed, b) alone, so any process can compute any resample and the numbers never
 * depend on how resamples are dealt over MPI ranks. Intervals are percentile intervals with
 * NumPy's default quantile. Pure C, Local, no MPI, no I/O.
 * Not here: the statistics resampled (stages/aggregate/stats.c), distributing resamples.
 */
#ifndef BMC_BOOTSTRAP_H
#define BMC_BOOTSTRAP_H

#include <stdint.h>

/* counts[n]: how often item i is drawn in resample b. The stream starts at
 * state = bmc_mix64(bmc_mix64(seed) + b) and draw k (k = 0 … n−1) is
 * bmc_uniform_below(&state, n) (bmc_rng.h). Σ counts = n. Needs n ≥ 1, b ≥ 0. */
void boot_counts(int *counts, long n, uint64_t seed, long b);

/* Σ_i w[i]·v[i] / Σ_i w[i], summed in index order; NaN when Σ w = 0. w, v [n]. */
double boot_weighted_mean(const int *w, const double *v, long n);

/* Quantile q ∈ [0, 1] of sorted[n] (ascending, n ≥ 1), NumPy's default 'linear' method:
 * h = (n − 1)·q, j = ⌊h⌋, t = h − j, d = sorted[j + 1] − sorted[j]; sorted[j] + d·t, or for
 * t ≥ 0.5 sorted[j + 1] − d·(1 − t) (NumPy's _lerp, bit for bit). */
double boot_quantile_sorted(const double *sorted, long n, double q);

/* Percentile interval of values[n] at `level` (0.95: the 2.5 % and 97.5 % quantiles of the
 * sorted values, a copy is sorted). Any NaN among the values gives NaN bounds. n ≥ 1. */
void boot_percentile_interval(double *lo, double *hi, const double *values, long n,
                              double level);

#endif
