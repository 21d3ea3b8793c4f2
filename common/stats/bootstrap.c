/* bootstrap.c — resample counts, weighted means and percentile intervals (bootstrap.h).
 * Not here: the random stream itself (common/bmc_rng.c).
 */
#include "bootstrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_error.h"
#include "bmc_rng.h"

void boot_counts(int *counts, long n, uint64_t seed, long b) {
    BMC_CHECK(n >= 1 && b >= 0);
    memset(counts, 0, (size_t)n * sizeof *counts);
    uint64_t state = bmc_mix64(bmc_mix64(seed) + (uint64_t)b);
    for (long k = 0; k < n; k++) counts[bmc_uniform_below(&state, (uint64_t)n)]++;
}

double boot_weighted_mean(const int *w, const double *v, long n) {
    double s = 0.0, ws = 0.0;
    for (long i = 0; i < n; i++) {
        if (!w[i]) continue;
        s += (double)w[i] * v[i];
        ws += (double)w[i];
    }
    return ws > 0 ? s / ws : NAN;
}

double boot_quantile_sorted(const double *sorted, long n, double q) {
    BMC_CHECK(n >= 1 && q >= 0.0 && q <= 1.0);
    double h = (double)(n - 1) * q;
    long j = (long)floor(h);
    if (j >= n - 1) return sorted[n - 1];
    /* NumPy's _lerp: from the nearer end, so t ≥ 0.5 interpolates down from b. */
    double a = sorted[j], b = sorted[j + 1], t = h - (double)j, d = b - a;
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void boot_percentile_interval(double *lo, double *hi, const double *values, long n,
                              double level) {
    BMC_CHECK(n >= 1 && level > 0.0 && level < 1.0);
    double *v = XNEW(v, n);
    for (long i = 0; i < n; i++) {
        if (isnan(values[i])) {
            *lo = *hi = NAN;
            free(v);
            return;
        }
        v[i] = values[i];
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *lo = boot_quantile_sorted(v, n, (1.0 - level) / 2.0);
    *hi = boot_quantile_sorted(v, n, (1.0 + level) / 2.0);
    free(v);
}
