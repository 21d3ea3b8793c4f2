/* ridge_basis.c — the eigenbasis of one training set for the ridge fit: X centred with the
 * training means, the Gram (dual, n ≤ p: Xc·Xcᵀ + 1·1ᵀ) or covariance (primal) matrix by
 * syrk, its eigendecomposition (pdsyevd; ridge_eig.c on one process), the intercept direction
 * (dual) or U = Xc·V (primal), the held-out projections of a k-fold basis and the exact-LOO
 * diagonals; the float32 copy of Q for the MIXED screen. One step per function; the driver
 * ridge_basis_build runs them in order.
 * Not here: scoring Y (ridge_block.c), the fit driver (ridge.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_scalapack.h"
#include "bmc_syevd.h"
#include "ridge_eig.h"
#include "ridge_fit.h"

void ridge_split_centre(ridge_mem *mt, const bmc_grid *g, const bmc_rowblock_mat *src, int f0,
                        int f1, int nb, double *mean, bmc_distmat *train, bmc_distmat *test) {
    ridge_col_means(mean, src, f0, f1);
    ridge_dm_init(mt, train, g, src->m - (f1 - f0), src->n, nb);
    bmc_rowblock_to_distmat(train, 0, src, 0, f0);
    bmc_rowblock_to_distmat(train, f0, src, f1, src->m);
    ridge_centre_columns(train, mean);
    if (test != NULL) {
        ridge_dm_init(mt, test, g, f1 - f0, src->n, nb);
        bmc_rowblock_to_distmat(test, 0, src, f0, f1);
        ridge_centre_columns(test, mean);
    }
}

/* Local: the shapes of the basis of the training rows outside [f0, f1), nothing allocated. */
static void basis_shape(ridge_basis *b, const ridge_problem *pb, int f0, int f1) {
    memset(b, 0, sizeof *b);
    b->f0 = f0;
    b->f1 = f1;
    b->n_te = f1 - f0;
    b->n_tr = pb->n - b->n_te;
    b->dual = b->n_tr <= pb->p;
    b->r = b->dual ? b->n_tr : pb->p;
    b->int_dim = -1;
}

/* Collective: gram (r × r, allocated here, lower triangle) := Xc·Xcᵀ + 1·1ᵀ (dual: the
 * intercept direction gets eigenvalue n_tr) or Xcᵀ·Xc (primal), from the centred training
 * rows xtr, by syrk: BLAS directly on one process (PBLAS's panels cost ~2x there). */
static void basis_gram(ridge_fit_ctx *fc, const ridge_basis *b, const bmc_distmat *xtr,
                       bmc_distmat *gram) {
    const ridge_problem *pb = fc->pb;
    int r = b->r, k = b->dual ? pb->p : b->n_tr, one = 1;
    double done = 1.0, zero = 0.0;
    ridge_dm_init(&fc->mt, gram, fc->g, r, r, fc->nb);
    if (fc->g->size == 1)
        dsyrk_("L", b->dual ? "N" : "T", &r, &k, &done, xtr->data, &xtr->lld, &zero, gram->data,
               &gram->lld, 1, 1);
    else
        pdsyrk_("L", b->dual ? "N" : "T", &r, &k, &done, xtr->data, &one, &one, xtr->desc,
                &zero, gram->data, &one, &one, gram->desc, 1, 1);
    if (b->dual)
        for (size_t q = 0; q < (size_t)gram->lld * (size_t)gram->nloc; q++) gram->data[q] += 1.0;
}

/* Collective: b->s (r eigenvalues, ascending) and b->Q (the eigenvectors), allocated here, of
 * gram (overwritten): dsyevd's algorithm with a blocked back-transformation (ridge_eig_local)
 * on one process, bmc_pdsyevd on the grid. Returns the solver's info (0: success; agreed on
 * the grid). */
static int basis_eig(ridge_fit_ctx *fc, ridge_basis *b, bmc_distmat *gram) {
    ridge_mem *mt = &fc->mt;
    int r = b->r, info = 0, lwork = 0, liwork = 0;
    b->s = ridge_mem_get(mt, (size_t)r, sizeof(double));
    ridge_dm_init(mt, &b->Q, fc->g, r, r, fc->nb);
    ridge_eig_workspace(r, fc->nb, fc->g, &lwork, &liwork);
    double *work = ridge_mem_get(mt, (size_t)lwork, sizeof(double));
    int *iwork = ridge_mem_get(mt, (size_t)liwork, sizeof(int));
    if (fc->g->size == 1)
        info = ridge_eig_local(r, gram->data, gram->lld, b->s, b->Q.data, b->Q.lld, work,
                               (size_t)lwork, iwork, (size_t)liwork);
    else
        info = bmc_pdsyevd(gram, b->s, &b->Q, work, lwork, iwork, liwork);
    ridge_mem_put(mt, iwork, (size_t)liwork, sizeof(int));
    ridge_mem_put(mt, work, (size_t)lwork, sizeof(double));
    return info;
}

/* Collective (dual form): the intercept direction, scikit-learn's _find_smallest_angle
 * (argmax_j |Q_jᵀ·1|, the first on ties), and with held-out rows xte (else NULL) their
 * projection A = (Xte·Xtrᵀ)·Q (n_te × r). */
static void basis_dual_products(ridge_fit_ctx *fc, ridge_basis *b, const bmc_distmat *xtr,
                                const bmc_distmat *xte) {
    ridge_mem *mt = &fc->mt;
    int r = b->r;
    double *colsum = ridge_mem_get(mt, (size_t)r, sizeof(double));
    for (int lj = 0; lj < b->Q.nloc; lj++)
        for (int li = 0; li < b->Q.mloc; li++)
            colsum[bmc_distmat_col(&b->Q, lj)] += RIDGE_AT(&b->Q, li, lj);
    ridge_allsum(colsum, (size_t)r, fc->g->comm);
    b->int_dim = 0;
    for (int j = 1; j < r; j++)
        if (fabs(colsum[j]) > fabs(colsum[b->int_dim])) b->int_dim = j;
    ridge_mem_put(mt, colsum, (size_t)r, sizeof(double));
    if (xte == NULL) return;
    bmc_distmat cross;
    ridge_dm_init(mt, &cross, fc->g, b->n_te, b->n_tr, fc->nb);
    bmc_distmat_gemm("N", "T", 1.0, xte, xtr, 0.0, &cross);
    ridge_dm_init(mt, &b->A, fc->g, b->n_te, r, fc->nb);
    bmc_distmat_gemm("N", "N", 1.0, &cross, &b->Q, 0.0, &b->A);
    ridge_dm_free(mt, &cross);
}

/* Collective (primal form): U = Xtr·V (n_tr × p) and with held-out rows xte (else NULL)
 * their projection A = Xte·V (n_te × p). */
static void basis_primal_products(ridge_fit_ctx *fc, ridge_basis *b, const bmc_distmat *xtr,
                                  const bmc_distmat *xte) {
    ridge_dm_init(&fc->mt, &b->U, fc->g, b->n_tr, b->r, fc->nb);
    bmc_distmat_gemm("N", "N", 1.0, xtr, &b->Q, 0.0, &b->U);
    if (xte == NULL) return;
    ridge_dm_init(&fc->mt, &b->A, fc->g, b->n_te, b->r, fc->nb);
    bmc_distmat_gemm("N", "N", 1.0, xte, &b->Q, 0.0, &b->A);
}

/* Collective: the exact-LOO diagonals b->gdiag (n_alpha × n_tr, global): dual G⁻¹_ii =
 * Σ_j Q_ij² w_j; primal 1 − h_ii = 1 − 1/n − Σ_j U_ij² / (s_j + α). As GEMMs over chunks of
 * RIDGE_GDIAG_CHUNK local columns: (E∘E)[:, chunk] times the chunk's weights w(j, α), added
 * straight into gdiag (n_tr × n_alpha, column-major) for each run of consecutive global rows;
 * then one sum over ranks. */
static void basis_loo_diagonals(ridge_fit_ctx *fc, ridge_basis *b) {
    const ridge_problem *pb = fc->pb;
    ridge_mem *mt = &fc->mt;
    const bmc_distmat *E = b->dual ? &b->Q : &b->U;
    size_t na = (size_t)pb->n_alpha, ntr = (size_t)b->n_tr;
    b->gdiag = ridge_mem_get(mt, na * ntr, sizeof(double));
    int ml = E->mloc, ina = pb->n_alpha, ld = (int)ntr, cw = RIDGE_GDIAG_CHUNK;
    size_t sq_n = (size_t)(ml > 1 ? ml : 1) * (size_t)cw, wt_n = (size_t)cw * na;
    double *sq = ridge_mem_get(mt, sq_n, sizeof(double));
    double *wt = ridge_mem_get(mt, wt_n, sizeof(double));
    const double one_d = 1.0;
    for (int lj0 = 0; lj0 < E->nloc && ml > 0; lj0 += cw) {
        int len = E->nloc - lj0 < cw ? E->nloc - lj0 : cw;
        for (int c = 0; c < len; c++) {
            const double *col = &RIDGE_AT(E, 0, lj0 + c);
            for (int li = 0; li < ml; li++)
                sq[(size_t)li + (size_t)c * (size_t)ml] = col[li] * col[li];
            int j = bmc_distmat_col(E, lj0 + c);
            for (size_t a = 0; a < na; a++)
                wt[(size_t)c + a * (size_t)cw] = ridge_spectral_w(b, j, pb->alphas[a]);
        }
        for (int li0 = 0; li0 < ml;) {
            int i0 = bmc_distmat_row(E, li0), run = 1;
            while (li0 + run < ml && bmc_distmat_row(E, li0 + run) == i0 + run) run++;
            dgemm_("N", "N", &run, &ina, &len, &one_d, sq + li0, &ml, wt, &cw, &one_d,
                   b->gdiag + i0, &ld, 1, 1);
            li0 += run;
        }
    }
    ridge_mem_put(mt, wt, wt_n, sizeof(double));
    ridge_mem_put(mt, sq, sq_n, sizeof(double));
    ridge_allsum(b->gdiag, na * ntr, fc->g->comm);
    if (!b->dual)
        for (size_t q = 0; q < na * ntr; q++)
            b->gdiag[q] = 1.0 - 1.0 / (double)b->n_tr - b->gdiag[q];
}

int ridge_basis_build(ridge_fit_ctx *fc, ridge_basis *b, int f0, int f1, int with_test) {
    const ridge_problem *pb = fc->pb;
    ridge_mem *mt = &fc->mt;
    basis_shape(b, pb, f0, f1);
    b->x_mean = ridge_mem_get(mt, (size_t)pb->p, sizeof(double));
    bmc_distmat xtr, xte, gram;
    double t0 = MPI_Wtime();
    ridge_split_centre(mt, fc->g, &fc->X, f0, f1, fc->nb, b->x_mean, &xtr,
                       with_test ? &xte : NULL);
    t0 = ridge_lap(fc, RIDGE_PHASE_LOAD, t0); /* moving and centring X: data, not GEMM, time */
    basis_gram(fc, b, &xtr, &gram);
    t0 = ridge_lap(fc, RIDGE_PHASE_GRAM, t0);
    int info = basis_eig(fc, b, &gram);
    ridge_dm_free(mt, &gram);
    if (info != 0)
        bmc_err_set(fc->err, "check X for extreme values; try another block size",
                    "ridge: %s failed with info %d on the %d x %d %s matrix",
                    fc->g->size == 1 ? "dstedc" : "pdsyevd", info, b->r, b->r,
                    b->dual ? "Gram" : "covariance");
    if (bmc_err_agree(fc->g->comm, fc->err)) {
        ridge_dm_free(mt, &xtr);
        if (with_test) ridge_dm_free(mt, &xte);
        ridge_basis_free(mt, pb, b);
        return -1;
    }
    if (b->dual)
        basis_dual_products(fc, b, &xtr, with_test ? &xte : NULL);
    else
        basis_primal_products(fc, b, &xtr, with_test ? &xte : NULL);
    ridge_dm_free(mt, &xtr);
    if (with_test) ridge_dm_free(mt, &xte);
    if (pb->mode == RIDGE_MODE_LOO && !with_test) {
        basis_loo_diagonals(fc, b);
        if (ridge_uses_mixed(pb)) { /* the float32 copy of Q for the MIXED screen */
            size_t count = (size_t)b->Q.lld * (size_t)b->Q.nloc;
            b->q32 = ridge_mem_get(mt, count, sizeof(float));
            for (size_t q = 0; q < count; q++) b->q32[q] = (float)b->Q.data[q];
        }
    }
    ridge_lap(fc, RIDGE_PHASE_EIG, t0);
    return 0;
}

void ridge_basis_free(ridge_mem *mt, const ridge_problem *pb, ridge_basis *b) {
    ridge_mem_put(mt, b->q32, (size_t)b->Q.lld * (size_t)b->Q.nloc, sizeof(float));
    ridge_mem_put(mt, b->gdiag, (size_t)pb->n_alpha * (size_t)b->n_tr, sizeof(double));
    ridge_dm_free(mt, &b->A);
    ridge_dm_free(mt, &b->U);
    ridge_dm_free(mt, &b->Q);
    ridge_mem_put(mt, b->s, (size_t)b->r, sizeof(double));
    ridge_mem_put(mt, b->x_mean, (size_t)pb->p, sizeof(double));
    memset(b, 0, sizeof *b);
}
