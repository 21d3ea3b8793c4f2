/* cv.c — penalty selection for ridge: problem validation, the granularity of the choice
 * (per target, per token, per weighted group partition) on a score matrix, and fold bounds.
 *
 * Everything here is local and pure (no MPI): scores arrive already reduced over ranks.
 * Not here: computing the scores (ridge_block.c), the eigendecompositions, I/O.
 */
#include <math.h>
#include <stdlib.h>

#include "bmc_alloc.h"
#include "ridge.h"
#include "ridge_fit.h"

int ridge_check_problem(const ridge_problem *pb, bmc_err *err) {
    BMC_CHECK(pb != NULL && err != NULL);
    const char *where = "ridge";
    if (pb->grid == NULL) BMC_BUG("ridge problem without a grid");
    if (pb->n < 2 || pb->p < 1 || pb->t < 1)
        return bmc_err_set(err, "ridge needs at least 2 samples, 1 feature and 1 target",
                           "%s: empty or too small problem: n = %d samples, p = %d features, "
                           "t = %d targets",
                           where, pb->n, pb->p, pb->t);
    if (pb->n_alpha < 1 || pb->alphas == NULL)
        return bmc_err_set(err, "give at least one penalty (e.g. 17 values 1e-2 .. 1e6)",
                           "%s: empty penalty grid", where);
    for (int a = 0; a < pb->n_alpha; a++) {
        double v = pb->alphas[a];
        if (!(v > 0.0) || !isfinite(v))
            return bmc_err_set(err, "penalties must be finite and > 0",
                               "%s: penalty %d of the grid is %g", where, a, v);
        if (a > 0 && !(v > pb->alphas[a - 1]))
            return bmc_err_set(err, "list the penalties in strictly increasing order, without "
                                    "duplicates",
                               "%s: penalty grid is not strictly increasing at index %d "
                               "(%g after %g)",
                               where, a, v, pb->alphas[a - 1]);
    }
    if (pb->mode != RIDGE_MODE_LOO && pb->mode != RIDGE_MODE_GCV && pb->mode != RIDGE_MODE_KFOLD)
        return bmc_err_set(err, "use loo, gcv or kfold", "%s: unknown selection mode %d", where,
                           (int)pb->mode);
    if (pb->precision != RIDGE_PRECISION_DOUBLE && pb->precision != RIDGE_PRECISION_MIXED)
        return bmc_err_set(err, "use double or mixed", "%s: unknown score precision %d", where,
                           (int)pb->precision);
    if (pb->mode == RIDGE_MODE_KFOLD && (pb->kfold < 2 || pb->kfold > pb->n))
        return bmc_err_set(err, "the number of folds must be between 2 and the sample count",
                           "%s: k-fold with k = %d on %d samples", where, pb->kfold, pb->n);
    if (pb->max_block_cols < 0)
        return bmc_err_set(err, "use 0 for blocks as wide as the budget allows",
                           "%s: max_block_cols %d", where, pb->max_block_cols);
    if (pb->nb < 0)
        return bmc_err_set(err, "use 0 for the default block size", "%s: block size %d", where,
                           pb->nb);
    switch (pb->grain) {
    case RIDGE_GRAIN_TARGET:
        break;
    case RIDGE_GRAIN_TOKEN:
        if (pb->token_size < 1)
            return bmc_err_set(err, "token granularity needs the columns per token (e.g. 768)",
                               "%s: token size %d", where, pb->token_size);
        break;
    case RIDGE_GRAIN_GROUP:
        if (pb->n_groups < 1 || pb->group_of == NULL || pb->group_weight == NULL)
            return bmc_err_set(err, "group granularity needs group_of (t entries) and weights",
                               "%s: group granularity without groups", where);
        for (int g = 0; g < pb->n_groups; g++)
            if (!(pb->group_weight[g] >= 0.0) || !isfinite(pb->group_weight[g]))
                return bmc_err_set(err, "group weights must be finite and >= 0",
                                   "%s: weight of group %d is %g", where, g,
                                   pb->group_weight[g]);
        for (int k = 0; k < pb->t; k++)
            if (pb->group_of[k] < 0 || pb->group_of[k] >= pb->n_groups)
                return bmc_err_set(err, "every target column needs a group in [0, n_groups)",
                                   "%s: target %d is in group %d of %d", where, k,
                                   pb->group_of[k], pb->n_groups);
        break;
    default:
        return bmc_err_set(err, "use target, token or group", "%s: unknown granularity %d",
                           where, (int)pb->grain);
    }
    return 0;
}

int ridge_n_groups(const ridge_problem *pb) {
    switch (pb->grain) {
    case RIDGE_GRAIN_TOKEN:
        return (pb->t + pb->token_size - 1) / pb->token_size;
    case RIDGE_GRAIN_GROUP:
        return pb->n_groups;
    default:
        return 0;
    }
}

void ridge_fold_rows(int n, int k, int f, int *r0, int *r1) {
    BMC_CHECK(k >= 1 && f >= 0 && f < k && n >= 0);
    *r0 = (int)((long)f * n / k);
    *r1 = (int)((long)(f + 1) * n / k);
}

/* First index of the minimum of v[0], v[stride], ... (n values); NaN never wins. */
static int argmin_first(const double *v, int n, long stride) {
    int best = 0;
    for (int a = 1; a < n; a++)
        if (v[a * stride] < v[best * stride] || isnan(v[best * stride])) best = a;
    return best;
}

/* Column group of target k (TOKEN or GROUP). */
static int group_index(const ridge_problem *pb, int k) {
    return pb->grain == RIDGE_GRAIN_TOKEN ? k / pb->token_size : pb->group_of[k];
}

void ridge_select(const ridge_problem *pb, const double *scores, int *best_index,
                  double *group_scores) {
    BMC_CHECK(pb != NULL && scores != NULL && best_index != NULL);
    const int na = pb->n_alpha, t = pb->t;
    if (pb->grain == RIDGE_GRAIN_TARGET) {
        for (int k = 0; k < t; k++) best_index[k] = argmin_first(scores + k, na, t);
        return;
    }
    const int ng = ridge_n_groups(pb);
    double *means = XNEW(means, bmc_mul_size((size_t)na, (size_t)ng));
    int *count = xcalloc((size_t)ng, sizeof *count);
    for (int k = 0; k < t; k++) count[group_index(pb, k)]++;
    for (int a = 0; a < na; a++) {
        double *row = means + (size_t)a * (size_t)ng;
        for (int g = 0; g < ng; g++) row[g] = 0.0;
        for (int k = 0; k < t; k++) row[group_index(pb, k)] += scores[(size_t)a * (size_t)t + (size_t)k];
        for (int g = 0; g < ng; g++) row[g] = count[g] > 0 ? row[g] / count[g] : 0.0;
    }
    if (pb->grain == RIDGE_GRAIN_TOKEN) {
        /* Minimising the mean is minimising the sum: the group has a fixed size. */
        for (int g = 0; g < ng; g++) {
            int best = argmin_first(means + g, na, ng);
            for (int k = g * pb->token_size; k < t && k < (g + 1) * pb->token_size; k++)
                best_index[k] = best;
        }
    } else {
        double *objective = xcalloc((size_t)na, sizeof *objective);
        for (int g = 0; g < ng; g++) {
            if (count[g] == 0) continue;
            double low = means[argmin_first(means + g, na, ng) * ng + g];
            if (!(low > 0.0)) continue; /* a perfectly fitted group carries no preference */
            for (int a = 0; a < na; a++)
                objective[a] += pb->group_weight[g] * means[(size_t)a * (size_t)ng + (size_t)g] / low;
        }
        int best = argmin_first(objective, na, 1);
        for (int k = 0; k < t; k++) best_index[k] = best;
        free(objective);
    }
    if (group_scores != NULL)
        for (size_t q = 0; q < (size_t)na * (size_t)ng; q++) group_scores[q] = means[q];
    free(count);
    free(means);
}

/* ---- memory prediction: mirrors the allocation phases of the fit ------------------------ */

#include "bmc_scalapack.h"

typedef struct sizer {
    const bmc_grid *g;
    int nb;
} sizer;

/* Local bytes of a 2-D m × n matrix and of a row-block m × n matrix (as the fit allocates). */
static size_t dm_sz(const sizer *z, int m, int n) {
    int mloc = bmc_numroc(m, z->nb, z->g->myrow, 0, z->g->nprow);
    int nloc = bmc_numroc(n, z->nb, z->g->mycol, 0, z->g->npcol);
    return (size_t)(mloc > 1 ? mloc : 1) * (size_t)nloc * sizeof(double);
}

static size_t rb_sz(const sizer *z, int m, int n) {
    long row0, nrows;
    bmc_rowblock(m, z->g->size, z->g->rank, &row0, &nrows);
    return (size_t)(nrows > 1 ? nrows : 1) * (size_t)n * sizeof(double);
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Collective: the eigensolver's workspace for an r × r matrix, as bytes. */
static size_t syevd_sz(const sizer *z, int r) {
    int lwork = 0, liwork = 0;
    ridge_eig_workspace(r, z->nb, z->g, &lwork, &liwork);
    return (size_t)lwork * sizeof(double) + (size_t)liwork * sizeof(int);
}

/* Peak of one basis (training rows outside a fold of n_te rows) and its column blocks. */
static size_t basis_peak(const ridge_problem *pb, const sizer *z, int n_te, int tb, int score,
                         int solve, int collect) {
    const int n = pb->n, p = pb->p, n_tr = n - n_te, dual = n_tr <= p, r = dual ? n_tr : p;
    const size_t d = sizeof(double), na = (size_t)pb->n_alpha;
    size_t xtr = dm_sz(z, n_tr, p), xte = n_te ? dm_sz(z, n_te, p) : 0;
    size_t base = (size_t)p * d + xtr + xte + (size_t)r * d + dm_sz(z, r, r);
    size_t peak = base + dm_sz(z, r, r) + syevd_sz(z, r);
    size_t resid = (size_t)p * d + (size_t)r * d + dm_sz(z, r, r); /* x_mean, s, Q */
    if (dual) {
        peak = max_sz(peak, base + (size_t)r * d);
        if (n_te) {
            peak = max_sz(peak, base + dm_sz(z, n_te, n_tr) + dm_sz(z, n_te, r));
            resid += dm_sz(z, n_te, r);
        }
    } else {
        resid += dm_sz(z, n_tr, p) + (n_te ? dm_sz(z, n_te, p) : 0);
        peak = max_sz(peak, base + resid - (size_t)p * d - (size_t)r * d - dm_sz(z, r, r));
    }
    if (pb->mode == RIDGE_MODE_LOO && !n_te) {
        resid += na * (size_t)n_tr * d;
        /* while forming the LOO diagonals: a GEMM chunk (E² columns and their weights) on
         * top of what stays */
        int ml = bmc_numroc(n_tr, z->nb, z->g->myrow, 0, z->g->nprow);
        size_t m1 = (size_t)(ml > 1 ? ml : 1), cw = RIDGE_GDIAG_CHUNK;
        peak = max_sz(peak, resid + (m1 * cw + cw * na) * d);
        if (ridge_uses_mixed(pb)) resid += dm_sz(z, r, r) / 2; /* float32 copy of Q */
    }
    /* one column block */
    size_t ntb = (size_t)tb, ym = ntb * d;
    size_t ytr = dm_sz(z, n_tr, tb), yte = n_te ? dm_sz(z, n_te, tb) : 0;
    size_t blk = rb_sz(z, n, tb) + rb_sz(z, n, tb) / (size_t)1; /* yrb + the C-order rows */
    {
        long row0, nrows;
        bmc_rowblock(n, z->g->size, z->g->rank, &row0, &nrows);
        blk = rb_sz(z, n, tb) + (size_t)nrows * ntb * d;
    }
    blk = max_sz(blk, rb_sz(z, n, tb) + ym + ytr + yte);
    size_t work = ym + ytr + yte + 2 * dm_sz(z, r, tb);
    if (score) {
        size_t part = (na * ntb + ntb) * d;
        int mloc_r = bmc_numroc(r, z->nb, z->g->myrow, 0, z->g->nprow);
        size_t rmat = pb->mode == RIDGE_MODE_GCV
                          ? (size_t)(mloc_r > 1 ? mloc_r : 1) * na * d /* wl */
                          : dm_sz(z, n_te ? n_te : n_tr, tb);
        if (ridge_uses_mixed(pb) && !n_te) { /* float32 Z and R, the near-tie rescoring */
            int cw = ridge_rescore_cols(tb, ridge_col_quantum(z->g, z->nb));
            rmat = dm_sz(z, r, tb) + 3 * dm_sz(z, r, cw) + na * (size_t)cw * d +
                   ntb * (sizeof(int) + d);
        }
        blk = max_sz(blk, work + part + rmat);
    }
    if (solve) { /* the block's coefficients cb (rows × tb and 2·tb), then the sink */
        int rows = dual ? n : p;
        size_t orb = rb_sz(z, rows, tb), cb = orb + 2 * ym;
        if (z->g->size == 1) { /* the GEMM writes cb's rows directly */
            blk = max_sz(blk, work + cb + ym);
        } else {
            blk = max_sz(blk, work + cb + dm_sz(z, rows, tb) + orb);
            blk = max_sz(blk, work + cb + orb + ym);
        }
        if (!collect) blk = max_sz(blk, cb + ntb * pb->sink_col_bytes + pb->sink_setup_bytes);
    }
    return max_sz(peak, resid + blk);
}

size_t ridge_memory_predict(const ridge_problem *pb, int block_cols) {
    return ridge_memory_predict_mode(pb, block_cols, 1);
}

size_t ridge_memory_predict_stream(const ridge_problem *pb, int block_cols) {
    return ridge_memory_predict_mode(pb, block_cols, 0);
}

size_t ridge_memory_predict_mode(const ridge_problem *pb, int block_cols, int collect) {
    BMC_CHECK(pb != NULL && pb->grid != NULL && block_cols >= 1);
    const bmc_grid *g = pb->grid;
    sizer z = {g, ridge_problem_block_size(pb)};
    const size_t d = sizeof(double), na = (size_t)pb->n_alpha, t = (size_t)pb->t;
    const int dual = pb->n <= pb->p;
    long row0, nrows, crow0, cnrows;
    bmc_rowblock(pb->n, g->size, g->rank, &row0, &nrows);
    bmc_rowblock(dual ? pb->n : pb->p, g->size, g->rank, &crow0, &cnrows);
    /* resident: raw X rows, result and model arrays (the per-column model arrays only when
     * the fit collects them) */
    size_t fixed = rb_sz(&z, pb->n, pb->p) + na * t * d + na * (size_t)ridge_n_groups(pb) * d +
                   t * sizeof(int) + t * d + (size_t)pb->p * d;
    if (collect) fixed += 2 * t * d + (size_t)cnrows * t * d;
    if (dual) fixed += (size_t)nrows * (size_t)pb->p * d + (size_t)nrows * d;
    size_t peak = fixed + 3 * (size_t)pb->p * d; /* the zero-variance count */
    int tb = block_cols < pb->t ? block_cols : pb->t;
    if (pb->mode == RIDGE_MODE_KFOLD)
        for (int f = 0; f < pb->kfold; f++) {
            int f0, f1;
            ridge_fold_rows(pb->n, pb->kfold, f, &f0, &f1);
            peak = max_sz(peak, fixed + basis_peak(pb, &z, f1 - f0, tb, 1, 0, collect));
        }
    peak = max_sz(peak, fixed + basis_peak(pb, &z, 0, tb, pb->mode != RIDGE_MODE_KFOLD, 1, collect));
    unsigned long local = peak, global = 0;
    BMC_MPI(MPI_Allreduce(&local, &global, 1, MPI_UNSIGNED_LONG, MPI_MAX, g->comm));
    return global;
}
