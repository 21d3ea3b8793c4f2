/* ridge_eig.c — the one-process symmetric eigensolver of the ridge fit: LAPACK's dsyevd
 * algorithm (dsytrd → dstedc → back-transformation) with the back-transformation applied in
 * blocks of RIDGE_EIG_BT_NB reflectors instead of dormtr's 32, so that its GEMMs run near the
 * dgemm rate (n = 9000 on 2 cores: dormtr 28 s at 52 GF/s, blocked 19.4 s at 75 GF/s). The
 * _naive twin is LAPACK's dsyevd itself. Not here: the distributed path (pdsyevd, in
 * ridge_basis.c), anything about ridge regression.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_error.h"
#include "bmc_scalapack.h"
#include "ridge_eig.h"

/* Reflectors per back-transformation block for order n (no wider than the n − 1 there are). */
static int bt_block(int n) { return n - 1 < RIDGE_EIG_BT_NB ? (n > 1 ? n - 1 : 1) : RIDGE_EIG_BT_NB; }

/* dsytrd's workspace (its own query), doubles. */
static size_t trd_work(int n) {
    int lw = -1, info = 0, ld = n > 1 ? n : 1;
    double q = 0.0, dummy = 0.0;
    dsytrd_("L", &n, &dummy, &ld, &dummy, &dummy, &dummy, &q, &lw, &info, 1);
    return (size_t)q > 1 ? (size_t)q : 1;
}

size_t ridge_eig_work(int n, size_t *liwork) {
    BMC_CHECK(n >= 1);
    size_t nn = (size_t)n, nb = (size_t)bt_block(n);
    size_t stedc = 1 + 4 * nn + nn * nn, bt = nb * nb + nn * nb, trd = trd_work(n);
    size_t need = stedc > bt ? stedc : bt;
    if (trd > need) need = trd;
    if (liwork) *liwork = 3 + 5 * nn;
    return 2 * nn + need; /* tau and the off-diagonal first */
}

/* Local: z[1:, :] := Q₁·z[1:, :], Q₁ = H(1)·…·H(n−1) the reflectors dsytrd("L") left below the
 * subdiagonal of a (what dormtr("L", "L", "N") computes), a block of nb at a time from the
 * last one: T by dlarft, then dlarfb's two GEMMs of (n−1−i) × n × nb. */
static void backtransform(int n, const double *a, int lda, const double *tau, double *z, int ldz,
                          double *t, double *w) {
    int m = n - 1, k = n - 1, nb = bt_block(n);
    const double *v = a + 1; /* the reflectors start one row below the diagonal */
    double *c = z + 1;
    for (int i = ((k - 1) / nb) * nb; i >= 0; i -= nb) {
        int ib = k - i < nb ? k - i : nb, mi = m - i;
        const double *vi = v + (size_t)i + (size_t)i * (size_t)lda;
        dlarft_("F", "C", &mi, &ib, vi, &lda, tau + i, t, &nb, 1, 1);
        dlarfb_("L", "N", "F", "C", &mi, &n, &ib, vi, &lda, t, &nb, c + i, &ldz, w, &n, 1, 1, 1,
                1);
    }
}

int ridge_eig_local(int n, double *a, int lda, double *w, double *z, int ldz, double *work,
                    size_t lwork, int *iwork, size_t liwork) {
    size_t need_i = 0, need = ridge_eig_work(n, &need_i);
    BMC_CHECK(lwork >= need && liwork >= need_i && lda >= n && ldz >= n);
    BMC_CHECK(lwork <= (size_t)INT_MAX && liwork <= (size_t)INT_MAX);
    int info = 0;
    /* dsyevd scales a matrix whose largest entry is outside [rmin, rmax]; leave those rare
     * matrices to it (same results, no back-transformation to speed up there). */
    double anrm = dlansy_("M", "L", &n, a, &lda, work, 1, 1);
    double smlnum = DBL_MIN / (DBL_EPSILON / 2.0), rmin = sqrt(smlnum), rmax = sqrt(1.0 / smlnum);
    if (anrm > 0.0 && (anrm < rmin || anrm > rmax)) return ridge_eig_local_naive(n, a, lda, w, z, ldz);
    double *tau = work, *e = work + n, *rest = work + 2 * (size_t)n;
    int lrest = (int)(lwork - 2 * (size_t)n), lirest = (int)liwork;
    dsytrd_("L", &n, a, &lda, w, e, tau, rest, &lrest, &info, 1);
    if (info != 0) return info;
    dstedc_("I", &n, w, e, z, &ldz, rest, &lrest, iwork, &lirest, &info, 1);
    if (info != 0) return info;
    if (n > 1) backtransform(n, a, lda, tau, z, ldz, rest, rest + (size_t)bt_block(n) * (size_t)bt_block(n));
    return 0;
}

int ridge_eig_local_naive(int n, double *a, int lda, double *w, double *z, int ldz) {
    BMC_CHECK(n >= 1 && lda >= n && ldz >= n);
    int lw = -1, liw = -1, iq = 0, info = 0;
    double q = 0.0;
    dsyevd_("V", "L", &n, a, &lda, w, &q, &lw, &iq, &liw, &info, 1, 1);
    lw = (int)q;
    liw = iq;
    double *work = XNEW(work, (size_t)lw);
    int *iwork = XNEW(iwork, (size_t)liw);
    dsyevd_("V", "L", &n, a, &lda, w, work, &lw, iwork, &liw, &info, 1, 1);
    free(iwork);
    free(work);
    if (info != 0) return info;
    for (int j = 0; j < n; j++)
        memcpy(z + (size_t)j * (size_t)ldz, a + (size_t)j * (size_t)lda, (size_t)n * sizeof(double));
    return 0;
}
