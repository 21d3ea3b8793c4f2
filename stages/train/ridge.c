/* ridge.c — the distributed ridge solver: centring, Gram matrix, pdsyevd, the per-penalty
 * scores (exact LOO as scikit-learn's _RidgeGCV, GCV trace approximation, k-fold held-out
 * error) and the solve with the chosen penalties (see ridge.h for the contract).
 *
 * One eigendecomposition per training set (the full data, and each fold); then every column
 * block of Y is redistributed, projected once (P = Qᵀ·Yc) and scored with one GEMM per
 * penalty. The working set is allocated through a counter (mem_track) so its high-water mark
 * can be measured; cv.c predicts it. Not here: the choice among penalties (cv.c), prediction
 * and freeing (predict.c), the row-block/2-D moves (ridge_dist.h), file I/O.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_scalapack.h"
#include "ridge.h"
#include "ridge_dist.h"
#include "ridge_eig.h"

/* BLAS (OpenBLAS) for one process: the Gram product (the eigensolver is ridge_eig.c). */
void sgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k,
            const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
            const float *beta, float *c, const int *ldc, size_t lta, size_t ltb);
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *beta, double *c, const int *ldc,
            size_t luplo, size_t ltrans);

/* Collective: the training part (rows outside [f0, f1)) and, when test is not NULL, the
 * held-out rows of a row-block matrix on the 2-D grid, centred with the training means. */
static void split_centre(mem_track *mt, const bmc_grid *g, const rbmat *src, int f0, int f1,
                         int nb, double *mean, bmc_distmat *train, bmc_distmat *test) {
    rowblock_means(src, f0, f1, g->comm, mean);
    dm_init(mt, train, g, src->m - (f1 - f0), src->n, nb);
    rows_to_2d(src, 0, f0, train, 0);
    rows_to_2d(src, f1, src->m, train, f0);
    centre_columns(train, mean);
    if (test != NULL) {
        dm_init(mt, test, g, f1 - f0, src->n, nb);
        rows_to_2d(src, f0, f1, test, 0);
        centre_columns(test, mean);
    }
}

/* ---- the eigenbasis of one training set --------------------------------------------------- */

typedef struct basis {
    int f0, f1;       /* held-out rows (f0 = f1: none)                                     */
    int n_tr, n_te, r;/* training rows, held-out rows, eigenpairs                          */
    int dual;         /* 1: eigh(Xc·Xcᵀ + 1·1ᵀ) (n_tr ≤ p); 0: eigh(Xcᵀ·Xc)                  */
    int int_dim;      /* dual: the intercept direction; −1 in the primal form              */
    double *x_mean;   /* p */
    double *s;        /* r eigenvalues, ascending                                          */
    bmc_distmat Q;    /* dual: n_tr × n_tr eigenvectors; primal: V (p × p)                   */
    bmc_distmat U;    /* primal: Xc·V (n_tr × p)                                            */
    bmc_distmat A;    /* k-fold: held-out projection, n_te × r (Xte·Xcᵀ·Q or Xte·V)          */
    double *gdiag;    /* LOO: n_alpha × n_tr, G⁻¹_ii (dual) or 1 − h_ii (primal)            */
    float *q32;       /* MIXED: float32 copy of Q's local array (same layout), else NULL   */
} basis;

/* The spectral weight of direction j for penalty a: 1/(s_j + α), 0 on the intercept. */
static double spectral_w(const basis *b, int j, double alpha) {
    return j == b->int_dim ? 0.0 : 1.0 / (b->s[j] + alpha);
}

typedef struct fit_ctx {
    const ridge_problem *pb;
    const bmc_grid *g;
    int nb, tb;
    ridge_fill_fn fill;
    void *fill_ctx;
    rbmat X;          /* raw X */
    mem_track mt;
    double phase_s[RIDGE_N_PHASES]; /* this rank's wall seconds per phase */
    ridge_result *res;
    ridge_model *model;
    double *xc_xmean; /* dual model: this rank's rows of Xc·x̄ */
    bmc_err *err;
} fit_ctx;

/* Add the seconds since `since` to phase `ph`; returns the current time. */
static double lap(fit_ctx *fc, ridge_phase ph, double since) {
    double now = MPI_Wtime();
    fc->phase_s[ph] += now - since;
    return now;
}

/* Collective: eigendecomposition of the training set outside rows [f0, f1). Returns 0, or −1
 * with an agreed err when pdsyevd fails. */
static int basis_build(fit_ctx *fc, basis *b, int f0, int f1, int with_test) {
    const ridge_problem *pb = fc->pb;
    const bmc_grid *g = fc->g;
    mem_track *mt = &fc->mt;
    memset(b, 0, sizeof *b);
    b->f0 = f0;
    b->f1 = f1;
    b->n_te = f1 - f0;
    b->n_tr = pb->n - b->n_te;
    b->dual = b->n_tr <= pb->p;
    b->r = b->dual ? b->n_tr : pb->p;
    b->int_dim = -1;
    b->x_mean = mt_get(mt, (size_t)pb->p, sizeof(double));
    bmc_distmat xtr, xte, gram;
    double t0 = MPI_Wtime();
    split_centre(mt, g, &fc->X, f0, f1, fc->nb, b->x_mean, &xtr, with_test ? &xte : NULL);
    t0 = lap(fc, RIDGE_PHASE_LOAD, t0); /* moving and centring X: data, not GEMM, time */

    int r = b->r, one = 1, info = 0;
    dm_init(mt, &gram, g, r, r, fc->nb);
    int k = b->dual ? pb->p : b->n_tr;
    double done = 1.0, zero = 0.0;
    if (g->size == 1) /* the lower triangle by BLAS directly: PBLAS's panels cost ~2x here */
        dsyrk_("L", b->dual ? "N" : "T", &r, &k, &done, xtr.data, &xtr.lld, &zero, gram.data,
               &gram.lld, 1, 1);
    else
        pdsyrk_("L", b->dual ? "N" : "T", &r, &k, &done, xtr.data, &one, &one, xtr.desc, &zero,
                gram.data, &one, &one, gram.desc, 1, 1);
    if (b->dual) /* + 1·1ᵀ: the intercept direction gets eigenvalue n_tr */
        for (size_t q = 0; q < (size_t)gram.lld * (size_t)gram.nloc; q++) gram.data[q] += 1.0;

    t0 = lap(fc, RIDGE_PHASE_GRAM, t0);
    b->s = mt_get(mt, (size_t)r, sizeof(double));
    dm_init(mt, &b->Q, g, r, r, fc->nb);
    double wq = 0.0;
    int iwq = 0, lwork = -1, liwork = -1;
    pdsyevd_("V", "L", &r, gram.data, &one, &one, gram.desc, b->s, b->Q.data, &one, &one,
             b->Q.desc, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
    /* The query sizes 2·NP·NQ from this process's share, which is too small on a process
     * that holds no rows (pdlaed3 overflows it): pad with the largest share. The same
     * formula is in cv.c's prediction. */
    lwork = (int)wq + 1 +
            2 * bmc_numroc(r, fc->nb, 0, 0, g->nprow) * bmc_numroc(r, fc->nb, 0, 0, g->npcol);
    liwork = iwq > 1 ? iwq : 1;
    ridge_eig_pad_work(r, g, &lwork, &liwork);
    double *work = mt_get(mt, (size_t)lwork, sizeof(double));
    int *iwork = mt_get(mt, (size_t)liwork, sizeof(int));
    if (g->size == 1) { /* dsyevd's algorithm with a blocked back-transformation */
        info = ridge_eig_local(r, gram.data, gram.lld, b->s, b->Q.data, b->Q.lld, work,
                               (size_t)lwork, iwork, (size_t)liwork);
    } else {
        pdsyevd_("V", "L", &r, gram.data, &one, &one, gram.desc, b->s, b->Q.data, &one, &one,
                 b->Q.desc, work, &lwork, iwork, &liwork, &info, 1, 1);
    }
    mt_put(mt, iwork, (size_t)liwork, sizeof(int));
    mt_put(mt, work, (size_t)lwork, sizeof(double));
    dm_free(mt, &gram);
    if (info != 0)
        bmc_err_set(fc->err, "check X for extreme values; try another block size",
                    "ridge: %s failed with info %d on the %d x %d %s matrix",
                    g->size == 1 ? "dstedc" : "pdsyevd", info, r, r,
                    b->dual ? "Gram" : "covariance");
    if (bmc_err_agree(g->comm, fc->err)) {
        dm_free(mt, &xtr);
        if (with_test) dm_free(mt, &xte);
        return -1;
    }

    if (b->dual) { /* sklearn's _find_smallest_angle: argmax_j |Q_jᵀ·1| (first on ties) */
        double *colsum = mt_get(mt, (size_t)r, sizeof(double));
        for (int lj = 0; lj < b->Q.nloc; lj++)
            for (int li = 0; li < b->Q.mloc; li++) colsum[COL_G(&b->Q, lj)] += AT(&b->Q, li, lj);
        allsum(colsum, (size_t)r, g->comm);
        b->int_dim = 0;
        for (int j = 1; j < r; j++)
            if (fabs(colsum[j]) > fabs(colsum[b->int_dim])) b->int_dim = j;
        mt_put(mt, colsum, (size_t)r, sizeof(double));
        if (with_test) {
            bmc_distmat cross;
            dm_init(mt, &cross, g, b->n_te, b->n_tr, fc->nb);
            gemm("N", "T", 1.0, &xte, &xtr, 0.0, &cross);
            dm_init(mt, &b->A, g, b->n_te, r, fc->nb);
            gemm("N", "N", 1.0, &cross, &b->Q, 0.0, &b->A);
            dm_free(mt, &cross);
        }
    } else {
        dm_init(mt, &b->U, g, b->n_tr, r, fc->nb);
        gemm("N", "N", 1.0, &xtr, &b->Q, 0.0, &b->U);
        if (with_test) {
            dm_init(mt, &b->A, g, b->n_te, r, fc->nb);
            gemm("N", "N", 1.0, &xte, &b->Q, 0.0, &b->A);
        }
    }
    dm_free(mt, &xtr);
    if (with_test) dm_free(mt, &xte);

    if (pb->mode == RIDGE_LOO && !with_test) {
        /* dual: G⁻¹_ii = Σ_j Q_ij² w_j; primal: 1 − h_ii = 1 − 1/n − Σ_j U_ij² / (s_j + α). */
        const bmc_distmat *E = b->dual ? &b->Q : &b->U;
        size_t na = (size_t)pb->n_alpha, ntr = (size_t)b->n_tr;
        b->gdiag = mt_get(mt, na * ntr, sizeof(double));
        /* As GEMMs over chunks of RIDGE_GDIAG_CHUNK local columns: (E∘E)[:, chunk] times the
         * chunk's weights w(j, α), added straight into gdiag (ntr × n_alpha, column-major)
         * for each run of consecutive global rows; then one sum over ranks. */
        int ml = E->mloc, ina = pb->n_alpha, ld = (int)ntr, cw = RIDGE_GDIAG_CHUNK;
        size_t sq_n = (size_t)(ml > 1 ? ml : 1) * (size_t)cw, wt_n = (size_t)cw * na;
        double *sq = mt_get(mt, sq_n, sizeof(double)), *wt = mt_get(mt, wt_n, sizeof(double));
        const double one_d = 1.0;
        for (int lj0 = 0; lj0 < E->nloc && ml > 0; lj0 += cw) {
            int len = E->nloc - lj0 < cw ? E->nloc - lj0 : cw;
            for (int c = 0; c < len; c++) {
                const double *col = &AT(E, 0, lj0 + c);
                for (int li = 0; li < ml; li++) sq[(size_t)li + (size_t)c * (size_t)ml] = col[li] * col[li];
                int j = COL_G(E, lj0 + c);
                for (size_t a = 0; a < na; a++)
                    wt[(size_t)c + a * (size_t)cw] = spectral_w(b, j, pb->alphas[a]);
            }
            for (int li0 = 0; li0 < ml;) {
                int i0 = ROW_G(E, li0), run = 1;
                while (li0 + run < ml && ROW_G(E, li0 + run) == i0 + run) run++;
                dgemm_("N", "N", &run, &ina, &len, &one_d, sq + li0, &ml, wt, &cw, &one_d,
                       b->gdiag + i0, &ld, 1, 1);
                li0 += run;
            }
        }
        mt_put(mt, wt, wt_n, sizeof(double));
        mt_put(mt, sq, sq_n, sizeof(double));
        allsum(b->gdiag, na * ntr, g->comm);
        if (!b->dual)
            for (size_t q = 0; q < na * ntr; q++)
                b->gdiag[q] = 1.0 - 1.0 / (double)b->n_tr - b->gdiag[q];
        if (ridge_uses_mixed(pb)) {
            size_t count = (size_t)b->Q.lld * (size_t)b->Q.nloc;
            b->q32 = mt_get(mt, count, sizeof(float));
            for (size_t q = 0; q < count; q++) b->q32[q] = (float)b->Q.data[q];
        }
    }
    lap(fc, RIDGE_PHASE_EIG, t0);
    return 0;
}

static void basis_free(mem_track *mt, const ridge_problem *pb, basis *b) {
    mt_put(mt, b->q32, (size_t)b->Q.lld * (size_t)b->Q.nloc, sizeof(float));
    mt_put(mt, b->gdiag, (size_t)pb->n_alpha * (size_t)b->n_tr, sizeof(double));
    dm_free(mt, &b->A);
    dm_free(mt, &b->U);
    dm_free(mt, &b->Q);
    mt_put(mt, b->s, (size_t)b->r, sizeof(double));
    mt_put(mt, b->x_mean, (size_t)pb->p, sizeof(double));
    memset(b, 0, sizeof *b);
}

/* ---- one column block of Y against one basis ---------------------------------------------- */

/* Local: z := diag-scaled copy of P; column k uses penalty alphas[aidx] when best == NULL,
 * else alphas[best[col0 + k]]. */
static void scale_projection(const basis *b, const ridge_problem *pb, const bmc_distmat *P,
                             int aidx, const int *best, int col0, bmc_distmat *z) {
    if (best == NULL) { /* one penalty: the weight depends on the row only (r doubles) */
        double alpha = pb->alphas[aidx];
        double *w = XNEW(w, P->mloc > 0 ? P->mloc : 1);
        for (int li = 0; li < P->mloc; li++) w[li] = spectral_w(b, ROW_G(P, li), alpha);
        for (int lj = 0; lj < P->nloc; lj++)
            for (int li = 0; li < P->mloc; li++) AT(z, li, lj) = AT(P, li, lj) * w[li];
        free(w);
        return;
    }
    for (int lj = 0; lj < P->nloc; lj++) {
        double alpha = pb->alphas[best[col0 + COL_G(P, lj)]];
        for (int li = 0; li < P->mloc; li++)
            AT(z, li, lj) = AT(P, li, lj) * spectral_w(b, ROW_G(P, li), alpha);
    }
}

/* Collective: this rank's rows of Y's columns [col0, col0 + tb), raw (checked finite). */
static int load_block(fit_ctx *fc, int col0, int tb, rbmat *y) {
    mem_track *mt = &fc->mt;
    rb_init(mt, y, fc->g, fc->pb->n, tb);
    size_t count = (size_t)y->nrows * (size_t)tb;
    double *rows = mt_get(mt, count, sizeof(double));
    int rc = fc->fill(fc->fill_ctx, col0, tb, rows, fc->err);
    if (rc == 0 && !fc->err->failed)
        for (size_t q = 0; q < count; q++)
            if (!isfinite(rows[q])) {
                bmc_err_set(fc->err, "remove or impute non-finite target values",
                            "ridge: Y row %ld column %ld is %g (not finite)",
                            y->row0 + (long)(q / (size_t)tb), col0 + (long)(q % (size_t)tb),
                            rows[q]);
                break;
            }
    if (rc != 0 && !fc->err->failed) bmc_err_set(fc->err, NULL, "ridge: reading Y failed");
    rb_from_c(y, rows, tb, 0);
    mt_put(mt, rows, count, sizeof(double));
    if (bmc_err_agree(fc->g->comm, fc->err)) {
        rb_free(mt, y);
        return -1;
    }
    return 0;
}

/* Local: the LOO sums Σ_i (e_ik / d_ai)² over this rank's rows of column k of R (n_tr × tb in
 * P's layout: dual c = Q·Z with d = G⁻¹_ii, primal residuals with d = 1 − h_ii), added into
 * part[a·tb + k]; R is float or double (the other pointer is NULL). rgd: scratch of mloc. */
static void loo_sums(const basis *b, const bmc_distmat *P, int a, const float *r32,
                     const double *r64, double *rgd, double *part) {
    const double *gd = b->gdiag + (size_t)a * (size_t)b->n_tr;
    for (int li = 0; li < P->mloc; li++) rgd[li] = gd[ROW_G(P, li)];
    size_t ntb = (size_t)P->n;
    for (int lj = 0; lj < P->nloc; lj++) {
        double sum = 0.0;
        size_t off = (size_t)lj * (size_t)P->lld;
        if (r32)
            for (int li = 0; li < P->mloc; li++) {
                double e = (double)r32[off + (size_t)li] / rgd[li];
                sum += e * e;
            }
        else
            for (int li = 0; li < P->mloc; li++) {
                double e = r64[off + (size_t)li] / rgd[li];
                sum += e * e;
            }
        part[(size_t)a * ntb + (size_t)COL_G(P, lj)] += sum;
    }
}

/* Collective: the MIXED screen of one block (dual LOO): for every penalty, c = Q·(w ∘ P) by a
 * float32 GEMM on b->q32 and a float32 copy of the scaled projection, and its LOO sums added
 * into part (na × tb, this rank's rows; summed over ranks by the caller). `buf` holds the two
 * float32 matrices (2 · P's local size). */
static void score_loo_screen(const basis *b, const ridge_problem *pb, const bmc_distmat *P,
                             float *buf, double *part) {
    size_t cnt = (size_t)P->lld * (size_t)P->nloc;
    float *z = buf, *r = buf + cnt;
    double *w = XNEW(w, P->mloc > 0 ? P->mloc : 1), *rgd = XNEW(rgd, P->mloc > 0 ? P->mloc : 1);
    int m = b->r, n = P->n, k = b->r, one = 1;
    const float f1 = 1.0f, f0 = 0.0f;
    for (int a = 0; a < pb->n_alpha; a++) {
        for (int li = 0; li < P->mloc; li++) w[li] = spectral_w(b, ROW_G(P, li), pb->alphas[a]);
        for (int lj = 0; lj < P->nloc; lj++)
            for (int li = 0; li < P->mloc; li++)
                z[(size_t)li + (size_t)lj * (size_t)P->lld] = (float)(AT(P, li, lj) * w[li]);
        if (P->grid->size == 1)
            sgemm_("N", "N", &m, &n, &k, &f1, b->q32, &b->Q.lld, z, &P->lld, &f0, r, &P->lld, 1,
                   1);
        else
            psgemm_("N", "N", &m, &n, &k, &f1, b->q32, &one, &one, b->Q.desc, z, &one, &one,
                    P->desc, &f0, r, &one, &one, P->desc, 1, 1);
        loo_sums(b, P, a, r, NULL, rgd, part);
    }
    free(rgd);
    free(w);
}

/* Collective: the MIXED rescoring of near ties in columns [col0, col0 + tb). A column is
 * near a tie when another penalty's screened score is within RIDGE_MIXED_TIE (relative) of
 * its lowest; its scores of those penalties and of the lowest are recomputed in float64
 * (Q·(w ∘ P) by the float64 GEMM) and overwrite the screened ones. The others stay screened:
 * they exceed the lowest by far more than the screen's rounding, so the choice among the
 * rescored ones is the float64 choice. Penalty by penalty, the columns to rescore are gathered
 * rescore_cols at a time into pf/zf/rf (r × cw, allocated by the caller). `lim` (tb doubles),
 * `list` (tb ints) and `part` (na × cw) are scratch. Returns the columns near a tie. */
static long rescore_near_ties(fit_ctx *fc, const basis *b, const bmc_distmat *P, int col0,
                              bmc_distmat *pf, bmc_distmat *zf, bmc_distmat *rf, double *lim,
                              int *list, double *part) {
    const ridge_problem *pb = fc->pb;
    const bmc_grid *g = fc->g;
    size_t t = (size_t)pb->t;
    int tb = P->n, cw = pf->n, one = 1;
    long near_cols = 0;
    for (int k = 0; k < tb; k++) { /* lim[k]: rescore penalties scoring ≤ lim; −1: none */
        const double *col = fc->res->scores + (size_t)col0 + (size_t)k;
        int bi = 0;
        for (int a = 1; a < pb->n_alpha; a++)
            if (col[(size_t)a * t] < col[(size_t)bi * t]) bi = a;
        lim[k] = col[(size_t)bi * t] * (1.0 + RIDGE_MIXED_TIE);
        int near = 0;
        for (int a = 0; a < pb->n_alpha && !near; a++)
            near = a != bi && !(col[(size_t)a * t] > lim[k]);
        if (!near) lim[k] = -1.0; /* scores are sums of squares, ≥ 0 */
        near_cols += near;
    }
    double *rgd = XNEW(rgd, P->mloc > 0 ? P->mloc : 1);
    int m = b->r, k = b->r;
    const double d1 = 1.0, d0 = 0.0;
    for (int a = 0; a < pb->n_alpha; a++) {
        double *sa = fc->res->scores + (size_t)a * t + (size_t)col0;
        int nl = 0;
        for (int c = 0; c < tb; c++)
            if (lim[c] >= 0.0 && !(sa[c] > lim[c])) list[nl++] = c;
        for (int c0 = 0; c0 < nl; c0 += cw) {
            int len = nl - c0 < cw ? nl - c0 : cw;
            for (int q = c0; q < c0 + len;) { /* runs of consecutive columns → pf[:, q − c0] */
                int run = 1;
                while (q + run < c0 + len && list[q + run] == list[q] + run) run++;
                if (g->size == 1) {
                    memcpy(&AT(pf, 0, q - c0), &AT(P, 0, list[q]),
                           (size_t)run * (size_t)P->lld * sizeof(double));
                } else {
                    int rows = P->m, ja = list[q] + 1, jb = q - c0 + 1;
                    pdgemr2d_(&rows, &run, P->data, &one, &ja, P->desc, pf->data, &one, &jb,
                              pf->desc, &g->ctxt);
                }
                q += run;
            }
            scale_projection(b, pb, pf, a, NULL, 0, zf);
            /* rf[:, :len] = Q·zf[:, :len]; columns past len of pf/zf/rf are stale and their
             * sums (part past len) are never read */
            if (g->size == 1)
                dgemm_("N", "N", &m, &len, &k, &d1, b->Q.data, &b->Q.lld, zf->data, &zf->lld, &d0,
                       rf->data, &rf->lld, 1, 1);
            else
                pdgemm_("N", "N", &m, &len, &k, &d1, b->Q.data, &one, &one, b->Q.desc, zf->data,
                        &one, &one, zf->desc, &d0, rf->data, &one, &one, rf->desc, 1, 1);
            double *pa = part + (size_t)a * (size_t)cw;
            memset(pa, 0, (size_t)cw * sizeof(double));
            loo_sums(b, rf, a, NULL, rf->data, rgd, part);
            allsum(pa, (size_t)cw, g->comm);
            for (int c = 0; c < len; c++) sa[list[c0 + c]] = pa[c] / (double)b->n_tr;
        }
    }
    free(rgd);
    return near_cols;
}

/* Collective: scores (mode's definition) of columns [col0, col0 + tb) for every penalty, added
 * into fc->res->scores with factor `weight`; with `best` (global, t) also the solve. */
static int process_block(fit_ctx *fc, const basis *b, int col0, int tb, double weight,
                         int score, int *best, int select_here) {
    const ridge_problem *pb = fc->pb;
    const bmc_grid *g = fc->g;
    mem_track *mt = &fc->mt;
    rbmat yrb;
    double t0 = MPI_Wtime();
    if (load_block(fc, col0, tb, &yrb) != 0) return -1;
    double *ymean = mt_get(mt, (size_t)tb, sizeof(double));
    bmc_distmat ytr, yte, P, Z, R;
    int kfold = b->n_te > 0;
    split_centre(mt, g, &yrb, b->f0, b->f1, fc->nb, ymean, &ytr, kfold ? &yte : NULL);
    rb_free(mt, &yrb);
    t0 = lap(fc, RIDGE_PHASE_LOAD, t0);
    dm_init(mt, &P, g, b->r, tb, fc->nb);
    gemm("T", "N", 1.0, b->dual ? &b->Q : &b->U, &ytr, 0.0, &P);
    dm_init(mt, &Z, g, b->r, tb, fc->nb);
    size_t na = (size_t)pb->n_alpha, ntb = (size_t)tb;

    if (score) {
        double *part = mt_get(mt, na * ntb + ntb, sizeof(double)), *fpart = NULL;
        bmc_distmat pf, zf, rf; /* MIXED: near-tie rescoring buffers */
        double *lim = NULL;
        int *list = NULL;
        if (pb->mode == RIDGE_GCV) { /* residual norms from the projections, O(r·tb) */
            double *yy = part + na * ntb;
            if (!b->dual)
                for (int lj = 0; lj < ytr.nloc; lj++)
                    for (int li = 0; li < ytr.mloc; li++)
                        yy[COL_G(&ytr, lj)] += AT(&ytr, li, lj) * AT(&ytr, li, lj);
            /* part[a, k] += Σ_j wgt[j, a] · P[j, k]²: one local GEMM per run of columns,
             * with P² in Z (free until the solve) and the weights of this rank's rows. */
            int ml = P.mloc, nl = P.nloc, ina = pb->n_alpha, ld = tb;
            double *wl = mt_get(mt, (size_t)(ml > 1 ? ml : 1) * na, sizeof(double));
            for (int li = 0; li < ml; li++) {
                int j = ROW_G(&P, li);
                double sj = b->s[j];
                for (size_t a = 0; a < na; a++) {
                    double al = pb->alphas[a], w = spectral_w(b, j, al);
                    wl[(size_t)li + a * (size_t)ml] = b->dual ? al * w * al * w : 2.0 * w - sj * w * w;
                }
            }
            for (int lj = 0; lj < nl; lj++)
                for (int li = 0; li < ml; li++) AT(&Z, li, lj) = AT(&P, li, lj) * AT(&P, li, lj);
            const double one = 1.0;
            for (int lj0 = 0; lj0 < nl && ml > 0;) {
                int k0 = COL_G(&P, lj0), len = 1;
                while (lj0 + len < nl && COL_G(&P, lj0 + len) == k0 + len) len++;
                dgemm_("T", "N", &len, &ina, &ml, &one, &AT(&Z, 0, lj0), &Z.lld, wl, &ml, &one,
                       part + k0, &ld, 1, 1);
                lj0 += len;
            }
            mt_put(mt, wl, (size_t)(ml > 1 ? ml : 1) * na, sizeof(double));
        } else if (b->q32 != NULL) { /* MIXED: float32 Z and R, then the near-tie buffers */
            size_t cnt = (size_t)P.lld * (size_t)P.nloc;
            float *buf = mt_get(mt, 2 * cnt, sizeof(float));
            int cw = ridge_rescore_cols(tb);
            dm_init(mt, &pf, g, b->r, cw, fc->nb);
            dm_init(mt, &zf, g, b->r, cw, fc->nb);
            dm_init(mt, &rf, g, b->r, cw, fc->nb);
            fpart = mt_get(mt, na * (size_t)cw, sizeof(double));
            lim = mt_get(mt, ntb, sizeof(double));
            list = mt_get(mt, ntb, sizeof(int));
            score_loo_screen(b, pb, &P, buf, part);
            mt_put(mt, buf, 2 * cnt, sizeof(float));
        } else {
            bmc_distmat *src = kfold ? &yte : &ytr;
            dm_init(mt, &R, g, src->m, tb, fc->nb);
            double *rgd = XNEW(rgd, R.mloc > 0 ? R.mloc : 1); /* G⁻¹_ii of this rank's rows */
            for (size_t a = 0; a < na; a++) {
                scale_projection(b, pb, &P, (int)a, NULL, 0, &Z);
                if (kfold || !b->dual)
                    memcpy(R.data, src->data, (size_t)R.lld * (size_t)R.nloc * sizeof(double));
                if (kfold) /* held-out residual: Yte − A·Z */
                    gemm("N", "N", -1.0, &b->A, &Z, 1.0, &R);
                else if (b->dual) /* c = Q·Z; LOO residual c / G⁻¹_ii */
                    gemm("N", "N", 1.0, &b->Q, &Z, 0.0, &R);
                else /* Yc − U·Z; LOO residual / (1 − h_ii) */
                    gemm("N", "N", -1.0, &b->U, &Z, 1.0, &R);
                if (!kfold) { /* LOO: residuals divided by G⁻¹_ii or 1 − h_ii */
                    loo_sums(b, &R, (int)a, NULL, R.data, rgd, part);
                    continue;
                }
                for (int lj = 0; lj < R.nloc; lj++) {
                    double sum = 0.0;
                    const double *col = &AT(&R, 0, lj);
                    for (int li = 0; li < R.mloc; li++) sum += col[li] * col[li];
                    part[a * ntb + (size_t)COL_G(&R, lj)] += sum;
                }
            }
            free(rgd);
            dm_free(mt, &R);
        }
        allsum(part, na * ntb + ntb, g->comm);
        for (size_t a = 0; a < na; a++) {
            double df = 1.0; /* GCV: degrees of freedom of penalty a, intercept included */
            for (int j = 0; pb->mode == RIDGE_GCV && j < b->r; j++)
                if (j != b->int_dim) df += b->s[j] / (b->s[j] + pb->alphas[a]);
            for (size_t k = 0; k < ntb; k++) {
                double v = part[a * ntb + k];
                if (pb->mode == RIDGE_GCV) {
                    double rss = b->dual ? v : part[na * ntb + k] - v;
                    v = (double)b->n_tr * rss / (((double)b->n_tr - df) * ((double)b->n_tr - df));
                } else {
                    v /= kfold ? (double)b->n_te : (double)b->n_tr;
                }
                fc->res->scores[a * (size_t)pb->t + (size_t)col0 + k] += weight * v;
            }
        }
        if (b->q32 != NULL) {
            BMC_CHECK(select_here && weight == 1.0); /* the only writer of these scores */
            fc->res->mixed = 1;
            fc->res->rescored += rescore_near_ties(fc, b, &P, col0, &pf, &zf, &rf, lim, list,
                                                   fpart);
            mt_put(mt, list, ntb, sizeof(int));
            mt_put(mt, lim, ntb, sizeof(double));
            mt_put(mt, fpart, na * (size_t)pf.n, sizeof(double));
            dm_free(mt, &rf);
            dm_free(mt, &zf);
            dm_free(mt, &pf);
        }
        mt_put(mt, part, na * ntb + ntb, sizeof(double));
        if (select_here) /* per-target choice: first α of the lowest score, as sklearn */
            for (size_t k = 0; k < ntb; k++) {
                const double *col = fc->res->scores + (size_t)col0 + k;
                int bi = 0;
                for (int a = 1; a < pb->n_alpha; a++)
                    if (col[(size_t)a * (size_t)pb->t] < col[(size_t)bi * (size_t)pb->t]) bi = a;
                best[(size_t)col0 + k] = bi;
            }
    }

    t0 = lap(fc, RIDGE_PHASE_SCORE, t0);
    if (best != NULL) { /* coefficients with the chosen penalties: dual Q·Z, primal V·Z */
        ridge_model *md = fc->model;
        scale_projection(b, pb, &P, 0, best, col0, &Z);
        int rows = b->dual ? pb->n : pb->p;
        double *dot = NULL;
        if (g->size == 1) {
            /* One process: GEMM straight into the model's C-order rows, as (Q·Z)ᵀ = Zᵀ·Qᵀ in
             * the column-major view of coef_rows[:, col0:] (leading dimension t). */
            int itb = tb, ir = b->r, ldc = pb->t;
            const double one_d = 1.0, zero_d = 0.0;
            dgemm_("T", "T", &itb, &rows, &ir, &one_d, Z.data, &Z.lld, b->Q.data, &b->Q.lld,
                   &zero_d, md->coef_rows + col0, &ldc, 1, 1);
            /* intercept = ȳ − x̄·W; dual: x̄·W_k = (Xc·x̄)ᵀ·c_k */
            dot = mt_get(mt, ntb, sizeof(double));
            for (int i = 0; i < rows; i++) {
                double v = b->dual ? fc->xc_xmean[i] : b->x_mean[i];
                const double *row = md->coef_rows + (size_t)i * (size_t)pb->t + (size_t)col0;
                for (size_t k = 0; k < ntb; k++) dot[k] += v * row[k];
            }
        } else {
            bmc_distmat out;
            dm_init(mt, &out, g, rows, tb, fc->nb);
            gemm("N", "N", 1.0, &b->Q, &Z, 0.0, &out);
            rbmat orb;
            rb_init(mt, &orb, g, rows, tb);
            dm_to_rb(&out, &orb);
            dm_free(mt, &out);
            rb_to_c(&orb, md->coef_rows, pb->t, col0);
            /* intercept = ȳ − x̄·W; dual: x̄·W_k = (Xc·x̄)ᵀ·c_k */
            dot = mt_get(mt, ntb, sizeof(double));
            for (size_t k = 0; k < ntb; k++) { /* orb is column-major: walk each column */
                const double *col = orb.data + k * (size_t)orb.ld;
                double acc = 0.0;
                for (long i = 0; i < orb.nrows; i++)
                    acc += (b->dual ? fc->xc_xmean[i] : b->x_mean[orb.row0 + i]) * col[i];
                dot[k] += acc;
            }
            rb_free(mt, &orb);
        }
        allsum(dot, ntb, g->comm);
        for (size_t k = 0; k < ntb; k++) {
            md->y_mean[(size_t)col0 + k] = ymean[k];
            md->intercept[(size_t)col0 + k] = ymean[k] - dot[k];
        }
        mt_put(mt, dot, ntb, sizeof(double));
        lap(fc, RIDGE_PHASE_SOLVE, t0);
    }
    dm_free(mt, &Z);
    dm_free(mt, &P);
    dm_free(mt, &ytr);
    if (kfold) dm_free(mt, &yte);
    mt_put(mt, ymean, ntb, sizeof(double));
    return 0;
}

/* ---- the fit -------------------------------------------------------------------------------- */

/* Collective: the widest column block whose predicted peak fits the budget. */
static int choose_block(const ridge_problem *pb, bmc_err *err) {
    if (pb->mem_budget == 0) return pb->t;
    if (ridge_memory_predict(pb, 1) > pb->mem_budget) {
        bmc_err_set(err, "raise the memory budget or use more ranks",
                    "ridge: memory budget %zu bytes per rank is below the %zu bytes needed "
                    "with one target column per block",
                    pb->mem_budget, ridge_memory_predict(pb, 1));
        return -1;
    }
    int lo = 1, hi = pb->t; /* invariant: lo fits */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (ridge_memory_predict(pb, mid) <= pb->mem_budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Collective: columns of X whose spread is at rounding level (constant columns). */
static int count_zero_variance(fit_ctx *fc) {
    const rbmat *x = &fc->X;
    int p = x->n;
    double *mean = mt_get(&fc->mt, (size_t)p * 3, sizeof(double));
    double *ss = mean + p, *big = ss + p;
    rowblock_means(x, 0, 0, fc->g->comm, mean);
    for (int j = 0; j < p; j++)
        for (long i = 0; i < x->nrows; i++) {
            double v = x->data[(size_t)i + (size_t)j * (size_t)x->ld];
            ss[j] += (v - mean[j]) * (v - mean[j]);
            if (fabs(v) > big[j]) big[j] = fabs(v);
        }
    allsum(ss, (size_t)p, fc->g->comm);
    BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, big, p, MPI_DOUBLE, MPI_MAX, fc->g->comm));
    int count = 0;
    for (int j = 0; j < p; j++) {
        double tol = 1e-12 * big[j]; /* spread below 1e-12 of the column's magnitude */
        if (ss[j] <= (double)x->m * tol * tol) count++;
    }
    mt_put(&fc->mt, mean, (size_t)p * 3, sizeof(double));
    return count;
}

/* The result and model arrays (counted in the peak, owned by the caller). */
static void alloc_outputs(fit_ctx *fc) {
    const ridge_problem *pb = fc->pb;
    mem_track *mt = &fc->mt;
    ridge_result *r = fc->res;
    ridge_model *m = fc->model;
    size_t na = (size_t)pb->n_alpha, t = (size_t)pb->t;
    r->n_alpha = pb->n_alpha;
    r->t = pb->t;
    r->n_groups = ridge_n_groups(pb);
    r->scores = mt_get(mt, na * t, sizeof(double));
    r->group_scores = mt_get(mt, na * (size_t)r->n_groups, sizeof(double));
    r->best_index = mt_get(mt, t, sizeof(int));
    r->best_alpha = mt_get(mt, t, sizeof(double));
    m->grid = fc->g;
    m->n = pb->n;
    m->p = pb->p;
    m->t = pb->t;
    m->dual = pb->n <= pb->p;
    m->x_mean = mt_get(mt, (size_t)pb->p, sizeof(double));
    m->y_mean = mt_get(mt, t, sizeof(double));
    m->intercept = mt_get(mt, t, sizeof(double));
    long row0, nrows;
    bmc_rowblock(m->dual ? pb->n : pb->p, fc->g->size, fc->g->rank, &row0, &nrows);
    m->coef_rows = mt_get(mt, (size_t)nrows * t, sizeof(double));
    if (m->dual) {
        m->xc_rows = mt_get(mt, (size_t)fc->X.nrows * (size_t)pb->p, sizeof(double));
        fc->xc_xmean = mt_get(mt, (size_t)fc->X.nrows, sizeof(double));
    }
}

/* Collective: every column block against basis b. */
static int all_blocks(fit_ctx *fc, const basis *b, double weight, int score, int *best,
                      int select_here) {
    for (int col0 = 0; col0 < fc->pb->t; col0 += fc->tb) {
        int tb = fc->pb->t - col0 < fc->tb ? fc->pb->t - col0 : fc->tb;
        if (process_block(fc, b, col0, tb, weight, score, best, select_here) != 0) return -1;
    }
    return 0;
}

static int fit_body(fit_ctx *fc, const double *x_rows) {
    const ridge_problem *pb = fc->pb;
    mem_track *mt = &fc->mt;
    ridge_result *res = fc->res;
    ridge_model *md = fc->model;
    double t0 = MPI_Wtime();
    rb_init(mt, &fc->X, fc->g, pb->n, pb->p);
    rb_from_c(&fc->X, x_rows, pb->p, 0);
    alloc_outputs(fc);
    res->zero_var_cols = count_zero_variance(fc);
    lap(fc, RIDGE_PHASE_LOAD, t0);
    res->block_cols = fc->tb;

    basis b;
    if (pb->mode == RIDGE_KFOLD)
        for (int f = 0; f < pb->kfold; f++) {
            int f0, f1;
            ridge_fold_rows(pb->n, pb->kfold, f, &f0, &f1);
            if (basis_build(fc, &b, f0, f1, 1) != 0) return -1;
            int rc = all_blocks(fc, &b, 1.0 / pb->kfold, 1, NULL, 0);
            basis_free(mt, pb, &b);
            if (rc != 0) return -1;
        }
    if (basis_build(fc, &b, 0, 0, 0) != 0) return -1;
    memcpy(md->x_mean, b.x_mean, (size_t)pb->p * sizeof(double));
    if (md->dual) { /* Xc rows (C order, by the tiled transpose) and Xc·x̄ for the intercepts */
        t0 = MPI_Wtime();
        rb_to_c(&fc->X, md->xc_rows, pb->p, 0);
        for (long i = 0; i < fc->X.nrows; i++) {
            double *row = md->xc_rows + (size_t)i * (size_t)pb->p, dot = 0.0;
            for (int j = 0; j < pb->p; j++) {
                row[j] -= b.x_mean[j];
                dot += row[j] * b.x_mean[j];
            }
            fc->xc_xmean[i] = dot;
        }
        lap(fc, RIDGE_PHASE_LOAD, t0);
    }
    int single_pass = pb->mode != RIDGE_KFOLD && pb->grain == RIDGE_GRAIN_TARGET;
    int rc = 0;
    if (single_pass) {
        rc = all_blocks(fc, &b, 1.0, 1, res->best_index, 1);
    } else {
        if (pb->mode != RIDGE_KFOLD) rc = all_blocks(fc, &b, 1.0, 1, NULL, 0);
        if (rc == 0) {
            ridge_select(pb, res->scores, res->best_index, res->group_scores);
            rc = all_blocks(fc, &b, 1.0, 0, res->best_index, 0);
        }
    }
    basis_free(mt, pb, &b);
    if (rc != 0) return -1;
    for (int k = 0; k < pb->t; k++) res->best_alpha[k] = pb->alphas[res->best_index[k]];
    return 0;
}

int ridge_fit(const ridge_problem *pb, const double *x_rows, ridge_fill_fn fill, void *fill_ctx,
              ridge_result *result, ridge_model *model, bmc_err *err) {
    BMC_CHECK(pb != NULL && pb->grid != NULL && fill != NULL && result != NULL &&
              model != NULL && err != NULL);
    memset(result, 0, sizeof *result);
    memset(model, 0, sizeof *model);
    const bmc_grid *g = pb->grid;
    ridge_check_problem(pb, err);
    if (bmc_err_agree(g->comm, err)) return -1;
    long row0, nrows;
    bmc_rowblock(pb->n, g->size, g->rank, &row0, &nrows);
    BMC_CHECK(x_rows != NULL || nrows == 0);
    for (size_t q = 0; q < (size_t)nrows * (size_t)pb->p; q++)
        if (!isfinite(x_rows[q])) {
            bmc_err_set(err, "remove or impute non-finite feature values",
                        "ridge: X row %ld column %ld is %g (not finite)",
                        row0 + (long)(q / (size_t)pb->p), (long)(q % (size_t)pb->p), x_rows[q]);
            break;
        }
    if (bmc_err_agree(g->comm, err)) return -1;
    int tb = choose_block(pb, err);
    if (bmc_err_agree(g->comm, err)) return -1;

    fit_ctx fc;
    memset(&fc, 0, sizeof fc);
    fc.pb = pb;
    fc.g = g;
    fc.nb = ridge_block_size(pb->nb, pb->n, pb->p, pb->mode == RIDGE_KFOLD ? pb->kfold : 1, g);
    fc.tb = tb;
    fc.fill = fill;
    fc.fill_ctx = fill_ctx;
    fc.res = result;
    fc.model = model;
    fc.err = err;
    int rc = fit_body(&fc, x_rows);
    if (fc.xc_xmean) mt_put(&fc.mt, fc.xc_xmean, (size_t)fc.X.nrows, sizeof(double));
    rb_free(&fc.mt, &fc.X);
    if (rc != 0) {
        ridge_result_free(result);
        ridge_model_free(model);
        return -1;
    }
    unsigned long peak = fc.mt.peak, maxpeak = 0;
    BMC_MPI(MPI_Allreduce(&peak, &maxpeak, 1, MPI_UNSIGNED_LONG, MPI_MAX, g->comm));
    result->mem_peak = maxpeak;
    result->mem_predicted = ridge_memory_predict(pb, tb);
    BMC_MPI(MPI_Allreduce(fc.phase_s, result->phase_s, RIDGE_N_PHASES, MPI_DOUBLE, MPI_MAX,
                          g->comm));
    return 0;
}

typedef struct rows_ctx {
    const double *y;
    int t;
    long nrows;
} rows_ctx;

static int fill_from_rows(void *ctx, int col0, int ncols, double *rows, bmc_err *err) {
    (void)err;
    const rows_ctx *c = ctx;
    for (long i = 0; i < c->nrows; i++)
        memcpy(rows + i * ncols, c->y + i * c->t + col0, (size_t)ncols * sizeof(double));
    return 0;
}

int ridge_fit_rows(const ridge_problem *pb, const double *x_rows, const double *y_rows,
                   ridge_result *result, ridge_model *model, bmc_err *err) {
    long row0, nrows;
    bmc_rowblock(pb->n > 0 ? pb->n : 0, pb->grid->size, pb->grid->rank, &row0, &nrows);
    rows_ctx c = {y_rows, pb->t, nrows};
    return ridge_fit(pb, x_rows, fill_from_rows, &c, result, model, err);
}
