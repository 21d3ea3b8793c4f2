/* test_ridge_eig.c — the one-process eigensolver of the ridge fit (common/ridge/ridge_eig.c)
 * against its _naive twin, LAPACK's dsyevd: eigenvalues agree to a few ulps of ‖A‖, and the
 * scaled residuals of LAPACK's tests, ‖A·Z − Z·Λ‖₁ / (n·‖A‖₁·ε) and ‖ZᵀZ − I‖₁ / (n·ε), are
 * O(1) (PASSED below 30; dsyevd's own printed beside). Orders 1, 2, 3 (fewer reflectors than a block), 129, 300 (several blocks, a
 * short last one), on random symmetric matrices and on a Gram matrix with a clustered
 * spectrum (X·Xᵀ of a rank-deficient X). Not here: the distributed pdsyevd path.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_scalapack.h"
#include "bmc_test.h"
#include "ridge_eig.h"

/* Element (i, j) of a column-major n × n array. */
#define IX(i, j) ((size_t)(i) + (size_t)(j) * (size_t)n)

static double urand(unsigned long long *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0 - 0.5;
}

/* a (n × n, column-major, both triangles): random symmetric, or X·Xᵀ with X n × (n/3 + 1). */
static void make_matrix(int n, int gram, unsigned long long seed, double *a) {
    if (!gram) {
        for (int j = 0; j < n; j++)
            for (int i = j; i < n; i++) a[IX(i, j)] = a[IX(j, i)] = urand(&seed);
        return;
    }
    int k = n / 3 + 1;
    double *x = XNEW(x, (size_t)n * (size_t)k), one = 1.0, zero = 0.0;
    for (size_t q = 0; q < (size_t)n * (size_t)k; q++) x[q] = urand(&seed);
    dgemm_("N", "T", &n, &n, &k, &one, x, &n, x, &n, &zero, a, &n, 1, 1);
    free(x);
}

/* The pass threshold of the scaled ratios (LAPACK's eigensolver tests use 30 too). */
#define RATIO_MAX 30.0

/* ‖M‖₁: the largest column sum of |M| (n × n). */
static double norm1(int n, const double *m) {
    double best = 0.0;
    for (int j = 0; j < n; j++) {
        double sum = 0.0;
        for (int i = 0; i < n; i++) sum += fabs(m[IX(i, j)]);
        best = sum > best ? sum : best;
    }
    return best;
}

/* LAPACK's dsyt21 ratios: ‖A·Z − Z·Λ‖₁ / (n·‖A‖₁·ε) and ‖ZᵀZ − I‖₁ / (n·ε); r is scratch. */
static void ratios(int n, const double *a, const double *z, const double *w, double *r,
                   double *res, double *orth) {
    double one = 1.0, zero = 0.0, eps = DBL_EPSILON;
    dgemm_("N", "N", &n, &n, &n, &one, a, &n, z, &n, &zero, r, &n, 1, 1);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) r[IX(i, j)] -= z[IX(i, j)] * w[j];
    *res = norm1(n, r) / (n * norm1(n, a) * eps);
    dgemm_("T", "N", &n, &n, &n, &one, z, &n, z, &n, &zero, r, &n, 1, 1);
    for (int j = 0; j < n; j++) r[IX(j, j)] -= 1.0;
    *orth = norm1(n, r) / (n * eps);
}

static void check_order(int n, int gram) {
    size_t nn = (size_t)n * (size_t)n, li = 0, lw = ridge_eig_work(n, &li);
    double *a = XNEW(a, nn), *a0 = XNEW(a0, nn), *z = XNEW(z, nn), *zr = XNEW(zr, nn);
    double *w = XNEW(w, n), *wr = XNEW(wr, n), *work = XNEW(work, lw), *r = XNEW(r, nn);
    int *iwork = XNEW(iwork, li);
    make_matrix(n, gram, 1000u + (unsigned)n, a0);
    memcpy(a, a0, nn * sizeof(double));
    int info = ridge_eig_local(n, a, n, w, z, n, work, lw, iwork, li);
    TEST_CHECK(info == 0, "n %d: info %d", n, info);
    memcpy(a, a0, nn * sizeof(double));
    info = ridge_eig_local_naive(n, a, n, wr, zr, n);
    TEST_CHECK(info == 0, "n %d: dsyevd info %d", n, info);

    double anorm = norm1(n, a0), eps = DBL_EPSILON;
    double werr = 0.0;
    for (int j = 0; j < n; j++) werr = fmax(werr, fabs(w[j] - wr[j]));
    TEST_CHECK(werr <= 16.0 * n * eps * anorm, "n %d: eigenvalues differ by %g (‖A‖ %g)", n,
               werr, anorm);
    for (int j = 1; j < n; j++) TEST_CHECK(w[j - 1] <= w[j], "n %d: not ascending at %d", n, j);
    double res, orth, res_r, orth_r;
    ratios(n, a0, z, w, r, &res, &orth);
    ratios(n, a0, zr, wr, r, &res_r, &orth_r);
    int ok = res < RATIO_MAX && orth < RATIO_MAX;
    printf("n = %4d %s: ||AZ - ZL||/(n||A|| eps) %6.3f (dsyevd %6.3f)  ||Z'Z - I||/(n eps) "
           "%6.3f (dsyevd %6.3f)  %s\n",
           n, gram ? "gram  " : "random", res, res_r, orth, orth_r, ok ? "PASSED" : "FAILED");
    TEST_CHECK(res < RATIO_MAX, "n %d: scaled residual %g", n, res);
    TEST_CHECK(orth < RATIO_MAX, "n %d: scaled orthogonality %g", n, orth);
    /* vectors: equal to dsyevd's up to sign where the eigenvalue is well separated */
    double gap_tol = 1e-6 * anorm, vmax = 0.0;
    for (int j = 0; j < n; j++) {
        double gap = INFINITY;
        if (j > 0) gap = fmin(gap, wr[j] - wr[j - 1]);
        if (j + 1 < n) gap = fmin(gap, wr[j + 1] - wr[j]);
        if (gap < gap_tol) continue;
        double dot = 0.0;
        for (int i = 0; i < n; i++) dot += z[IX(i, j)] * zr[IX(i, j)];
        double sgn = dot < 0 ? -1.0 : 1.0;
        for (int i = 0; i < n; i++)
            vmax = fmax(vmax, fabs(z[IX(i, j)] - sgn * zr[IX(i, j)]));
    }
    TEST_CHECK(vmax < 1e-8, "n %d: eigenvectors differ from dsyevd's by %g", n, vmax);
    free(iwork);
    free(r);
    free(work);
    free(wr);
    free(w);
    free(zr);
    free(z);
    free(a0);
    free(a);
}

int main(void) {
    const int orders[] = {1, 2, 3, 129, 300};
    for (size_t q = 0; q < sizeof orders / sizeof orders[0]; q++) {
        check_order(orders[q], 0);
        if (orders[q] > 2) check_order(orders[q], 1);
    }
    return test_summary();
}
