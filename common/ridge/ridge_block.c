/* ridge_block.c — one column block of Y against one eigenbasis: Y read through the fill
 * callback and redistributed, the projection P = Qᵀ·Yc, the per-penalty scores by one of three
 * algorithms (GCV from the projections; the MIXED float32 screen of exact LOO with float64
 * rescoring of near ties; exact LOO or k-fold held-out error in float64), the per-target
 * choice, and the solve with the chosen penalties into the model (one process or the grid).
 * Not here: the basis (ridge_basis.c), the choice among penalties (cv.c), the driver (ridge.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_scalapack.h"
#include "ridge_fit.h"

/* Local: z := diag-scaled copy of P; column k uses penalty alphas[aidx] when best == NULL,
 * else alphas[best[col0 + k]]. */
static void scale_projection(const ridge_basis *b, const ridge_problem *pb,
                             const bmc_distmat *P, int aidx, const int *best, int col0,
                             bmc_distmat *z) {
    if (best == NULL) { /* one penalty: the weight depends on the row only (r doubles) */
        double alpha = pb->alphas[aidx];
        double *w = XNEW(w, P->mloc > 0 ? P->mloc : 1);
        for (int li = 0; li < P->mloc; li++)
            w[li] = ridge_spectral_w(b, bmc_distmat_row(P, li), alpha);
        for (int lj = 0; lj < P->nloc; lj++)
            for (int li = 0; li < P->mloc; li++)
                RIDGE_AT(z, li, lj) = RIDGE_AT(P, li, lj) * w[li];
        free(w);
        return;
    }
    for (int lj = 0; lj < P->nloc; lj++) {
        double alpha = pb->alphas[best[col0 + bmc_distmat_col(P, lj)]];
        for (int li = 0; li < P->mloc; li++)
            RIDGE_AT(z, li, lj) =
                RIDGE_AT(P, li, lj) * ridge_spectral_w(b, bmc_distmat_row(P, li), alpha);
    }
}

/* Collective: this rank's rows of Y's columns [col0, col0 + tb), raw (checked finite). */
static int read_y_rows(ridge_fit_ctx *fc, int col0, int tb, bmc_rowblock_mat *y) {
    ridge_mem *mt = &fc->mt;
    ridge_rb_init(mt, y, fc->g, fc->pb->n, tb);
    size_t count = (size_t)y->nrows * (size_t)tb;
    double *rows = ridge_mem_get(mt, count, sizeof(double));
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
    bmc_rowblock_from_c(y, rows, tb, 0);
    ridge_mem_put(mt, rows, count, sizeof(double));
    if (bmc_err_agree(fc->g->comm, fc->err)) {
        ridge_rb_free(mt, y);
        return -1;
    }
    return 0;
}

/* Local: the LOO sums Σ_i (e_ik / d_ai)² over this rank's rows of column k of R (n_tr × tb in
 * P's layout: dual c = Q·Z with d = G⁻¹_ii, primal residuals with d = 1 − h_ii), times
 * scale2[k] when scale2 is not NULL, added into part[a·tb + k]; R is float or double (the
 * other pointer is NULL). rgd: scratch of mloc. */
static void loo_sums(const ridge_basis *b, const bmc_distmat *P, int a, const float *r32,
                     const double *r64, const double *scale2, double *rgd, double *part) {
    const double *gd = b->gdiag + (size_t)a * (size_t)b->n_tr;
    for (int li = 0; li < P->mloc; li++) rgd[li] = gd[bmc_distmat_row(P, li)];
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
        int k = bmc_distmat_col(P, lj);
        part[(size_t)a * ntb + (size_t)k] += scale2 ? sum * scale2[k] : sum;
    }
}

/* Collective: the MIXED screen of one block (dual LOO): for every penalty, c = Q·(w ∘ P) by a
 * float32 GEMM on b->q32 and a float32 copy of the scaled projection, and its LOO sums added
 * into part (na × tb, this rank's rows; summed over ranks by the caller). Each column of
 * w ∘ P is first scaled by a power of two that brings max_j |w_j| · max_i |P_ik| to [0.5, 1)
 * (exact, undone on the sums), so float32's range never clips whatever the scale of Y or of
 * the penalties. `buf` holds the two float32 matrices (2 · P's local size). */
static void score_loo_screen(const ridge_basis *b, const ridge_problem *pb,
                             const bmc_distmat *P, float *buf, double *part) {
    size_t cnt = (size_t)P->lld * (size_t)P->nloc;
    float *z = buf, *r = buf + cnt;
    double *w = XNEW(w, P->mloc > 0 ? P->mloc : 1), *rgd = XNEW(rgd, P->mloc > 0 ? P->mloc : 1);
    double *pmax = XNEW(pmax, P->n > 0 ? P->n : 1), *scale2 = XNEW(scale2, P->n > 0 ? P->n : 1);
    int *pexp = XNEW(pexp, P->n > 0 ? P->n : 1);
    int m = b->r, n = P->n, k = b->r, one = 1;
    const float f1 = 1.0f, f0 = 0.0f;
    memset(pmax, 0, (size_t)(P->n > 0 ? P->n : 1) * sizeof(double));
    for (int lj = 0; lj < P->nloc; lj++) {
        double *pm = &pmax[bmc_distmat_col(P, lj)];
        for (int li = 0; li < P->mloc; li++) *pm = fmax(*pm, fabs(RIDGE_AT(P, li, lj)));
    }
    if (P->n > 0)
        BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, pmax, P->n, MPI_DOUBLE, MPI_MAX, P->grid->comm));
    for (int a = 0; a < pb->n_alpha; a++) {
        double wmax = 0.0; /* max_j |w_j| over all directions (s is global) */
        for (int j = 0; j < b->r; j++)
            wmax = fmax(wmax, fabs(ridge_spectral_w(b, j, pb->alphas[a])));
        for (int c = 0; c < P->n; c++) { /* column c is multiplied by 2^−pexp[c] */
            double big = pmax[c] * wmax;
            pexp[c] = 0;
            if (big > 0.0 && isfinite(big)) frexp(big, &pexp[c]);
            scale2[c] = ldexp(1.0, 2 * pexp[c]);
        }
        for (int li = 0; li < P->mloc; li++)
            w[li] = ridge_spectral_w(b, bmc_distmat_row(P, li), pb->alphas[a]);
        for (int lj = 0; lj < P->nloc; lj++) {
            double f = ldexp(1.0, -pexp[bmc_distmat_col(P, lj)]); /* power of two: exact */
            for (int li = 0; li < P->mloc; li++)
                z[(size_t)li + (size_t)lj * (size_t)P->lld] =
                    (float)(RIDGE_AT(P, li, lj) * w[li] * f);
        }
        int q = ridge_col_quantum(P->grid, P->nb); /* as ridge_gemm_ycols */
        for (int c0 = 0; c0 < n; c0 += q) {
            int wc = n - c0 < q ? n - c0 : q, ja = c0 + 1;
            size_t off = (size_t)c0 * (size_t)P->lld;
            if (P->grid->size == 1)
                sgemm_("N", "N", &m, &wc, &k, &f1, b->q32, &b->Q.lld, z + off, &P->lld, &f0,
                       r + off, &P->lld, 1, 1);
            else
                psgemm_("N", "N", &m, &wc, &k, &f1, b->q32, &one, &one, b->Q.desc, z, &one, &ja,
                        P->desc, &f0, r, &one, &ja, P->desc, 1, 1);
        }
        loo_sums(b, P, a, r, NULL, scale2, rgd, part);
    }
    free(pexp);
    free(scale2);
    free(pmax);
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
static long rescore_near_ties(ridge_fit_ctx *fc, const ridge_basis *b, const bmc_distmat *P,
                              int col0, bmc_distmat *pf, bmc_distmat *zf, bmc_distmat *rf,
                              double *lim, int *list, double *part) {
    const ridge_problem *pb = fc->pb;
    const bmc_grid *g = fc->g;
    size_t t = (size_t)pb->t;
    int tb = P->n, cw = pf->n, one = 1, quantum = ridge_col_quantum(g, P->nb);
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
        for (int a = 0; a < pb->n_alpha; a++)
            if (!isfinite(col[(size_t)a * t])) { /* cannot happen after scaling; rescore all */
                lim[k] = INFINITY;
                near = 1;
            }
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
        for (int c0 = 0, len = 0; c0 < nl; c0 += len) {
            /* at most cw columns, all in one column quantum: the same GEMMs whatever the
             * blocking (ridge_gemm_ycols) */
            for (len = 1; c0 + len < nl && len < cw && list[c0 + len] / quantum == list[c0] / quantum;)
                len++;
            for (int q = c0; q < c0 + len;) { /* runs of consecutive columns → pf[:, q − c0] */
                int run = 1;
                while (q + run < c0 + len && list[q + run] == list[q] + run) run++;
                if (g->size == 1) {
                    memcpy(&RIDGE_AT(pf, 0, q - c0), &RIDGE_AT(P, 0, list[q]),
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
            loo_sums(b, rf, a, NULL, rf->data, NULL, rgd, part);
            ridge_allsum(pa, (size_t)cw, g->comm);
            for (int c = 0; c < len; c++) sa[list[c0 + c]] = pa[c] / (double)b->n_tr;
        }
    }
    free(rgd);
    return near_cols;
}

/* One column block of Y on the 2-D grid (load_block): the training means and the centred
 * training rows, and the centred held-out rows of a k-fold basis. */
typedef struct y_block {
    int tb;               /* columns                                                       */
    double *ymean;        /* tb: training means                                            */
    bmc_distmat ytr, yte; /* n_tr × tb; k-fold: n_te × tb (else unset)                      */
} y_block;

/* Collective: Y's columns [col0, col0 + tb) read (read_y_rows) and moved to the grid as the
 * training/held-out split of basis b, centred with the training means. Returns 0, or −1 with
 * an agreed err and nothing held. */
static int load_block(ridge_fit_ctx *fc, const ridge_basis *b, int col0, int tb, y_block *y) {
    ridge_mem *mt = &fc->mt;
    bmc_rowblock_mat yrb;
    if (read_y_rows(fc, col0, tb, &yrb) != 0) return -1;
    y->tb = tb;
    y->ymean = ridge_mem_get(mt, (size_t)tb, sizeof(double));
    ridge_split_centre(mt, fc->g, &yrb, b->f0, b->f1, fc->nb, y->ymean, &y->ytr,
                       b->n_te > 0 ? &y->yte : NULL);
    ridge_rb_free(mt, &yrb);
    return 0;
}

/* Local: release what load_block allocated. */
static void y_block_free(ridge_mem *mt, const ridge_basis *b, y_block *y) {
    ridge_dm_free(mt, &y->ytr);
    if (b->n_te > 0) ridge_dm_free(mt, &y->yte);
    ridge_mem_put(mt, y->ymean, (size_t)y->tb, sizeof(double));
}

/* Collective: part (na × tb + tb, this rank's sums) summed over the ranks and turned into the
 * mode's scores of columns [col0, col0 + tb), added into fc->res->scores with factor weight:
 * GCV n_tr·RSS/(n_tr − df)² (RSS from part's rows, the primal form's ‖yc‖² in its last tb
 * entries), else the mean squared LOO or held-out residual. */
static void add_block_scores(ridge_fit_ctx *fc, const ridge_basis *b, double *part, int col0,
                             int tb, double weight) {
    const ridge_problem *pb = fc->pb;
    size_t na = (size_t)pb->n_alpha, ntb = (size_t)tb;
    ridge_allsum(part, na * ntb + ntb, fc->g->comm);
    for (size_t a = 0; a < na; a++) {
        double df = 1.0; /* GCV: degrees of freedom of penalty a, intercept included */
        for (int j = 0; pb->mode == RIDGE_MODE_GCV && j < b->r; j++)
            if (j != b->int_dim) df += b->s[j] / (b->s[j] + pb->alphas[a]);
        for (size_t k = 0; k < ntb; k++) {
            double v = part[a * ntb + k];
            if (pb->mode == RIDGE_MODE_GCV) {
                double rss = b->dual ? v : part[na * ntb + k] - v;
                v = (double)b->n_tr * rss / (((double)b->n_tr - df) * ((double)b->n_tr - df));
            } else {
                v /= b->n_te > 0 ? (double)b->n_te : (double)b->n_tr;
            }
            fc->res->scores[a * (size_t)pb->t + (size_t)col0 + k] += weight * v;
        }
    }
}

/* Collective: GCV scores of the block from its projections P (r × tb), O(r·tb) per penalty:
 * part[a, k] = Σ_j wgt(j, a) · P[j, k]² (dual: the residual norm; primal: what it lacks of
 * ‖yc_k‖², which part's last tb entries hold). Z (P's shape) is scratch. */
static void score_gcv(ridge_fit_ctx *fc, const ridge_basis *b, const bmc_distmat *P,
                      const bmc_distmat *ytr, bmc_distmat *Z, int col0, double weight) {
    const ridge_problem *pb = fc->pb;
    ridge_mem *mt = &fc->mt;
    int tb = P->n;
    size_t na = (size_t)pb->n_alpha, ntb = (size_t)tb;
    double *part = ridge_mem_get(mt, na * ntb + ntb, sizeof(double));
    double *yy = part + na * ntb;
    if (!b->dual)
        for (int lj = 0; lj < ytr->nloc; lj++)
            for (int li = 0; li < ytr->mloc; li++)
                yy[bmc_distmat_col(ytr, lj)] += RIDGE_AT(ytr, li, lj) * RIDGE_AT(ytr, li, lj);
    /* One local GEMM per run of columns, with P² in Z and the weights of this rank's rows. */
    int ml = P->mloc, nl = P->nloc, ina = pb->n_alpha, ld = tb;
    size_t wl_n = (size_t)(ml > 1 ? ml : 1) * na;
    double *wl = ridge_mem_get(mt, wl_n, sizeof(double));
    for (int li = 0; li < ml; li++) {
        int j = bmc_distmat_row(P, li);
        double sj = b->s[j];
        for (size_t a = 0; a < na; a++) {
            double al = pb->alphas[a], w = ridge_spectral_w(b, j, al);
            wl[(size_t)li + a * (size_t)ml] = b->dual ? al * w * al * w : 2.0 * w - sj * w * w;
        }
    }
    for (int lj = 0; lj < nl; lj++)
        for (int li = 0; li < ml; li++)
            RIDGE_AT(Z, li, lj) = RIDGE_AT(P, li, lj) * RIDGE_AT(P, li, lj);
    const double one = 1.0;
    for (int lj0 = 0; lj0 < nl && ml > 0;) { /* runs of at most RIDGE_COL_QUANTUM columns */
        int k0 = bmc_distmat_col(P, lj0), len = 1;
        while (lj0 + len < nl && len < RIDGE_COL_QUANTUM && bmc_distmat_col(P, lj0 + len) == k0 + len)
            len++;
        dgemm_("T", "N", &len, &ina, &ml, &one, &RIDGE_AT(Z, 0, lj0), &Z->lld, wl, &ml, &one,
               part + k0, &ld, 1, 1);
        lj0 += len;
    }
    ridge_mem_put(mt, wl, wl_n, sizeof(double));
    add_block_scores(fc, b, part, col0, tb, weight);
    ridge_mem_put(mt, part, na * ntb + ntb, sizeof(double));
}

/* Collective: MIXED LOO scores of the block (dual form, weight 1, the only writer of these
 * scores): the float32 screen (score_loo_screen), then the float64 rescoring of near ties
 * (rescore_near_ties), counted into fc->res. */
static void score_mixed(ridge_fit_ctx *fc, const ridge_basis *b, const bmc_distmat *P,
                        int col0) {
    const ridge_problem *pb = fc->pb;
    ridge_mem *mt = &fc->mt;
    int tb = P->n, cw = ridge_rescore_cols(tb, ridge_col_quantum(fc->g, fc->nb));
    size_t na = (size_t)pb->n_alpha, ntb = (size_t)tb;
    double *part = ridge_mem_get(mt, na * ntb + ntb, sizeof(double));
    size_t cnt = (size_t)P->lld * (size_t)P->nloc;
    float *buf = ridge_mem_get(mt, 2 * cnt, sizeof(float)); /* float32 Z and R */
    bmc_distmat pf, zf, rf; /* near-tie rescoring: gathered P columns, scaled, Q·scaled */
    ridge_dm_init(mt, &pf, fc->g, b->r, cw, fc->nb);
    ridge_dm_init(mt, &zf, fc->g, b->r, cw, fc->nb);
    ridge_dm_init(mt, &rf, fc->g, b->r, cw, fc->nb);
    double *fpart = ridge_mem_get(mt, na * (size_t)cw, sizeof(double));
    double *lim = ridge_mem_get(mt, ntb, sizeof(double));
    int *list = ridge_mem_get(mt, ntb, sizeof(int));
    score_loo_screen(b, pb, P, buf, part);
    ridge_mem_put(mt, buf, 2 * cnt, sizeof(float));
    add_block_scores(fc, b, part, col0, tb, 1.0);
    fc->res->mixed = 1;
    fc->res->rescored += rescore_near_ties(fc, b, P, col0, &pf, &zf, &rf, lim, list, fpart);
    ridge_mem_put(mt, list, ntb, sizeof(int));
    ridge_mem_put(mt, lim, ntb, sizeof(double));
    ridge_mem_put(mt, fpart, na * (size_t)cw, sizeof(double));
    ridge_dm_free(mt, &rf);
    ridge_dm_free(mt, &zf);
    ridge_dm_free(mt, &pf);
    ridge_mem_put(mt, part, na * ntb + ntb, sizeof(double));
}

/* Collective: float64 scores of the block, one GEMM per penalty into the residual R (src's
 * shape): k-fold held-out Yte − A·Z, dual LOO c = Q·Z over G⁻¹_ii, primal LOO (Yc − U·Z) over
 * 1 − h_ii, with Z the scaled projection. src: the held-out rows (k-fold) or the training
 * rows. */
static void score_exact(ridge_fit_ctx *fc, const ridge_basis *b, const bmc_distmat *P,
                        const bmc_distmat *src, bmc_distmat *Z, int col0, double weight) {
    const ridge_problem *pb = fc->pb;
    ridge_mem *mt = &fc->mt;
    int tb = P->n, kfold = b->n_te > 0;
    size_t na = (size_t)pb->n_alpha, ntb = (size_t)tb;
    double *part = ridge_mem_get(mt, na * ntb + ntb, sizeof(double));
    bmc_distmat R;
    ridge_dm_init(mt, &R, fc->g, src->m, tb, fc->nb);
    double *rgd = XNEW(rgd, R.mloc > 0 ? R.mloc : 1); /* G⁻¹_ii of this rank's rows */
    for (size_t a = 0; a < na; a++) {
        scale_projection(b, pb, P, (int)a, NULL, 0, Z);
        if (kfold || !b->dual)
            memcpy(R.data, src->data, (size_t)R.lld * (size_t)R.nloc * sizeof(double));
        if (kfold) /* held-out residual: Yte − A·Z */
            ridge_gemm_ycols("N", -1.0, &b->A, Z, 1.0, &R);
        else if (b->dual) /* c = Q·Z; LOO residual c / G⁻¹_ii */
            ridge_gemm_ycols("N", 1.0, &b->Q, Z, 0.0, &R);
        else /* Yc − U·Z; LOO residual / (1 − h_ii) */
            ridge_gemm_ycols("N", -1.0, &b->U, Z, 1.0, &R);
        if (!kfold) { /* LOO: residuals divided by G⁻¹_ii or 1 − h_ii */
            loo_sums(b, &R, (int)a, NULL, R.data, NULL, rgd, part);
            continue;
        }
        for (int lj = 0; lj < R.nloc; lj++) {
            double sum = 0.0;
            const double *col = &RIDGE_AT(&R, 0, lj);
            for (int li = 0; li < R.mloc; li++) sum += col[li] * col[li];
            part[a * ntb + (size_t)bmc_distmat_col(&R, lj)] += sum;
        }
    }
    free(rgd);
    ridge_dm_free(mt, &R);
    add_block_scores(fc, b, part, col0, tb, weight);
    ridge_mem_put(mt, part, na * ntb + ntb, sizeof(double));
}

/* Local: best[col0 + k] := the first penalty of the lowest score of column col0 + k, as
 * scikit-learn's strict comparison picks it. */
static void select_per_target(const ridge_fit_ctx *fc, int col0, int tb, int *best) {
    const ridge_problem *pb = fc->pb;
    for (size_t k = 0; k < (size_t)tb; k++) {
        const double *col = fc->res->scores + (size_t)col0 + k;
        int bi = 0;
        for (int a = 1; a < pb->n_alpha; a++)
            if (col[(size_t)a * (size_t)pb->t] < col[(size_t)bi * (size_t)pb->t]) bi = a;
        best[(size_t)col0 + k] = bi;
    }
}

/* One solved column block (solve_block_*): this rank's coefficient rows (C order, nrows ×
 * tb), the block's y_mean and intercepts (tb each). */
typedef struct coef_block {
    int tb;
    long nrows;
    double *coef, *ymean, *intercept;
} coef_block;

/* Local: an empty coef_block of tb columns for `rows` coefficient rows, counted. */
static void coef_block_init(ridge_fit_ctx *fc, int rows, int tb, coef_block *cb) {
    long row0;
    bmc_rowblock(rows, fc->g->size, fc->g->rank, &row0, &cb->nrows);
    cb->tb = tb;
    cb->coef = ridge_mem_get(&fc->mt, (size_t)cb->nrows * (size_t)tb, sizeof(double));
    cb->ymean = ridge_mem_get(&fc->mt, 2 * (size_t)tb, sizeof(double));
    cb->intercept = cb->ymean + tb;
}

static void coef_block_free(ridge_fit_ctx *fc, coef_block *cb) {
    ridge_mem_put(&fc->mt, cb->coef, (size_t)cb->nrows * (size_t)cb->tb, sizeof(double));
    ridge_mem_put(&fc->mt, cb->ymean, 2 * (size_t)cb->tb, sizeof(double));
}

/* Collective: the block's y_mean and intercept = ȳ − x̄·W, from dot (tb: this rank's share
 * of x̄·W, summed over the ranks here). */
static void set_intercepts(ridge_fit_ctx *fc, const double *ymean, double *dot, coef_block *cb) {
    ridge_allsum(dot, (size_t)cb->tb, fc->g->comm);
    for (size_t k = 0; k < (size_t)cb->tb; k++) {
        cb->ymean[k] = ymean[k];
        cb->intercept[k] = ymean[k] - dot[k];
    }
}

/* Local (one process): the coefficients Q·Z (dual C, primal W = V·Z) of the block by one GEMM
 * straight into its C-order rows, as (Q·Z)ᵀ = Zᵀ·Qᵀ in the column-major view of cb->coef;
 * then the intercepts (dual: x̄·W_k = (Xc·x̄)ᵀ·c_k). */
static void solve_block_local(ridge_fit_ctx *fc, const ridge_basis *b, const bmc_distmat *Z,
                              const double *ymean, coef_block *cb) {
    const ridge_problem *pb = fc->pb;
    int rows = b->dual ? pb->n : pb->p, itb = Z->n, ir = b->r, ldc = itb;
    size_t ntb = (size_t)Z->n;
    const double one_d = 1.0, zero_d = 0.0;
    for (int c0 = 0; c0 < itb; c0 += RIDGE_COL_QUANTUM) { /* as ridge_gemm_ycols (1 process) */
        int w = itb - c0 < RIDGE_COL_QUANTUM ? itb - c0 : RIDGE_COL_QUANTUM;
        dgemm_("T", "T", &w, &rows, &ir, &one_d, Z->data + (size_t)c0 * (size_t)Z->lld, &Z->lld,
               b->Q.data, &b->Q.lld, &zero_d, cb->coef + c0, &ldc, 1, 1);
    }
    double *dot = ridge_mem_get(&fc->mt, ntb, sizeof(double));
    for (int i = 0; i < rows; i++) {
        double v = b->dual ? fc->xc_xmean[i] : b->x_mean[i];
        const double *row = cb->coef + (size_t)i * ntb;
        for (size_t k = 0; k < ntb; k++) dot[k] += v * row[k];
    }
    set_intercepts(fc, ymean, dot, cb);
    ridge_mem_put(&fc->mt, dot, ntb, sizeof(double));
}

/* Collective (the grid): the coefficients Q·Z of the block on the 2-D grid, moved to this
 * rank's rows through a row-block matrix; then the intercepts from those rows (dual:
 * x̄·W_k = (Xc·x̄)ᵀ·c_k). */
static void solve_block_grid(ridge_fit_ctx *fc, const ridge_basis *b, const bmc_distmat *Z,
                             const double *ymean, coef_block *cb) {
    const ridge_problem *pb = fc->pb;
    ridge_mem *mt = &fc->mt;
    int rows = b->dual ? pb->n : pb->p, tb = Z->n;
    size_t ntb = (size_t)tb;
    bmc_distmat out;
    ridge_dm_init(mt, &out, fc->g, rows, tb, fc->nb);
    ridge_gemm_ycols("N", 1.0, &b->Q, Z, 0.0, &out);
    bmc_rowblock_mat orb;
    ridge_rb_init(mt, &orb, fc->g, rows, tb);
    bmc_rowblock_from_distmat(&orb, &out);
    ridge_dm_free(mt, &out);
    bmc_rowblock_to_c(cb->coef, tb, 0, &orb);
    double *dot = ridge_mem_get(mt, ntb, sizeof(double));
    for (size_t k = 0; k < ntb; k++) { /* orb is column-major: walk each column */
        const double *col = orb.data + k * (size_t)orb.ld;
        double acc = 0.0;
        for (long i = 0; i < orb.nrows; i++)
            acc += (b->dual ? fc->xc_xmean[i] : b->x_mean[orb.row0 + i]) * col[i];
        dot[k] += acc;
    }
    ridge_rb_free(mt, &orb);
    set_intercepts(fc, ymean, dot, cb);
    ridge_mem_put(mt, dot, ntb, sizeof(double));
}

/* Collective: hand the solved block to the fit's sink as a model view of its columns. */
static int emit_block(ridge_fit_ctx *fc, const coef_block *cb, int col0, const int *best) {
    ridge_model view = *fc->model;
    view.t = cb->tb;
    view.coef_rows = cb->coef;
    view.y_mean = cb->ymean;
    view.intercept = cb->intercept;
    ridge_block_out out = {.col0 = col0, .block = &view, .best_index = best + col0};
    size_t sink_bytes = fc->collect ? 0 : (size_t)cb->tb * fc->pb->sink_col_bytes;
    if (!fc->collect && col0 == 0) sink_bytes += fc->pb->sink_setup_bytes; /* first block */
    ridge_mem_add(&fc->mt, sink_bytes); /* what the sink may use, counted in the peak */
    int rc = fc->sink(fc->sink_ctx, &out, fc->err);
    ridge_mem_sub(&fc->mt, sink_bytes);
    if (rc != 0 && !fc->err->failed) bmc_err_set(fc->err, NULL, "ridge: the block sink failed");
    return bmc_err_agree(fc->g->comm, fc->err) ? -1 : 0;
}

int ridge_process_block(ridge_fit_ctx *fc, const ridge_basis *b, int col0, int tb, double weight,
                        int score, int *best, int select_here) {
    const ridge_problem *pb = fc->pb;
    ridge_mem *mt = &fc->mt;
    y_block y;
    double t0 = MPI_Wtime();
    if (load_block(fc, b, col0, tb, &y) != 0) return -1;
    t0 = ridge_lap(fc, RIDGE_PHASE_LOAD, t0);
    bmc_distmat P, Z; /* the projection Qᵀ·Yc (dual) or Uᵀ·Yc, and its scaled copies */
    ridge_dm_init(mt, &P, fc->g, b->r, tb, fc->nb);
    ridge_gemm_ycols("T", 1.0, b->dual ? &b->Q : &b->U, &y.ytr, 0.0, &P);
    ridge_dm_init(mt, &Z, fc->g, b->r, tb, fc->nb);
    if (score) {
        if (pb->mode == RIDGE_MODE_GCV) {
            score_gcv(fc, b, &P, &y.ytr, &Z, col0, weight);
        } else if (b->q32 != NULL) {
            BMC_CHECK(select_here && weight == 1.0); /* the only writer of these scores */
            score_mixed(fc, b, &P, col0);
        } else {
            score_exact(fc, b, &P, b->n_te > 0 ? &y.yte : &y.ytr, &Z, col0, weight);
        }
        if (select_here) select_per_target(fc, col0, tb, best);
    }
    t0 = ridge_lap(fc, RIDGE_PHASE_SCORE, t0);
    coef_block cb = {0};
    if (best != NULL) { /* coefficients with the chosen penalties: dual Q·Z, primal V·Z */
        scale_projection(b, pb, &P, 0, best, col0, &Z);
        coef_block_init(fc, b->dual ? pb->n : pb->p, tb, &cb);
        if (fc->g->size == 1)
            solve_block_local(fc, b, &Z, y.ymean, &cb);
        else
            solve_block_grid(fc, b, &Z, y.ymean, &cb);
        ridge_lap(fc, RIDGE_PHASE_SOLVE, t0);
    }
    ridge_dm_free(mt, &Z);
    ridge_dm_free(mt, &P);
    y_block_free(mt, b, &y);
    if (best == NULL) return 0;
    t0 = MPI_Wtime();
    int rc = emit_block(fc, &cb, col0, best);
    coef_block_free(fc, &cb);
    ridge_lap(fc, RIDGE_PHASE_SINK, t0);
    return rc;
}
