/* ridge.c — the distributed ridge solver's driver (see ridge.h for the contract): checks,
 * the column-block width from the memory budget, the zero-variance count, the result and model
 * arrays, then one eigenbasis per training set (the full data, and each fold; ridge_basis.c)
 * against every column block of Y (ridge_block.c), and the penalty choice (cv.c). Each solved
 * block goes to a sink as soon as it is solved (ridge_fit_stream: the caller's; ridge_fit:
 * a copy into the whole model), so the stream keeps nothing of n·t or p·t.
 *
 * The working set is allocated through a counter (ridge_mem) so its high-water mark can be
 * measured; cv.c predicts it. Not here: prediction and freeing (predict.c), the row-block/2-D
 * moves (bmc_grid.h), file I/O.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "ridge_fit.h"

/* ---- the fit -------------------------------------------------------------------------------- */

int ridge_block_cols(const ridge_problem *pb, int stream) {
    int widest = pb->max_block_cols > 0 && pb->max_block_cols < pb->t ? pb->max_block_cols : pb->t;
    if (pb->mem_budget == 0) return widest;
    if (ridge_memory_predict_mode(pb, 1, !stream) > pb->mem_budget) return 0;
    int lo = 1, hi = widest; /* invariant: lo fits */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (ridge_memory_predict_mode(pb, mid, !stream) <= pb->mem_budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    /* Whole column quanta (ridge_col_quantum): the GEMMs over Y's columns run one quantum at
     * a time, so blocks cut on quantum boundaries give the bits of one block of all of Y. */
    int q = ridge_col_quantum(pb->grid, ridge_problem_block_size(pb));
    if (lo >= q && lo < pb->t) lo -= lo % q;
    return lo;
}

/* Collective: the widest column block whose predicted peak fits the budget. */
static int choose_block(const ridge_problem *pb, int collect, bmc_err *err) {
    int tb = ridge_block_cols(pb, !collect);
    if (tb == 0) {
        size_t need = ridge_memory_predict_mode(pb, 1, collect);
        bmc_err_set(err, "raise the memory budget or use more ranks",
                    "ridge: memory budget %zu bytes per rank is below the %zu bytes needed "
                    "with one target column per block",
                    pb->mem_budget, need);
        return -1;
    }
    return tb;
}

/* Collective: columns of X whose spread is at rounding level (constant columns). */
static int count_zero_variance(ridge_fit_ctx *fc) {
    const bmc_rowblock_mat *x = &fc->X;
    int p = x->n;
    double *mean = ridge_mem_get(&fc->mt, (size_t)p * 3, sizeof(double));
    double *ss = mean + p, *big = ss + p;
    ridge_col_means(mean, x, 0, 0);
    for (int j = 0; j < p; j++)
        for (long i = 0; i < x->nrows; i++) {
            double v = x->data[(size_t)i + (size_t)j * (size_t)x->ld];
            ss[j] += (v - mean[j]) * (v - mean[j]);
            if (fabs(v) > big[j]) big[j] = fabs(v);
        }
    ridge_allsum(ss, (size_t)p, fc->g->comm);
    BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, big, p, MPI_DOUBLE, MPI_MAX, fc->g->comm));
    int count = 0;
    for (int j = 0; j < p; j++) {
        double tol = 1e-12 * big[j]; /* spread below 1e-12 of the column's magnitude */
        if (ss[j] <= (double)x->m * tol * tol) count++;
    }
    ridge_mem_put(&fc->mt, mean, (size_t)p * 3, sizeof(double));
    return count;
}

/* The result and model arrays (counted in the peak, owned by the caller); the per-column
 * model arrays only when the fit collects them (ridge_fit). */
static void alloc_outputs(ridge_fit_ctx *fc) {
    const ridge_problem *pb = fc->pb;
    ridge_mem *mt = &fc->mt;
    ridge_result *r = fc->res;
    ridge_model *m = fc->model;
    size_t na = (size_t)pb->n_alpha, t = (size_t)pb->t;
    r->n_alpha = pb->n_alpha;
    r->t = pb->t;
    r->n_groups = ridge_n_groups(pb);
    r->scores = ridge_mem_get(mt, na * t, sizeof(double));
    r->group_scores = ridge_mem_get(mt, na * (size_t)r->n_groups, sizeof(double));
    r->best_index = ridge_mem_get(mt, t, sizeof(int));
    r->best_alpha = ridge_mem_get(mt, t, sizeof(double));
    m->grid = fc->g;
    m->n = pb->n;
    m->p = pb->p;
    m->t = pb->t;
    m->dual = pb->n <= pb->p;
    m->x_mean = ridge_mem_get(mt, (size_t)pb->p, sizeof(double));
    if (fc->collect) {
        m->y_mean = ridge_mem_get(mt, t, sizeof(double));
        m->intercept = ridge_mem_get(mt, t, sizeof(double));
        long row0, nrows;
        bmc_rowblock(m->dual ? pb->n : pb->p, fc->g->size, fc->g->rank, &row0, &nrows);
        m->coef_rows = ridge_mem_get(mt, (size_t)nrows * t, sizeof(double));
    }
    if (m->dual) {
        m->xc_rows = ridge_mem_get(mt, (size_t)fc->X.nrows * (size_t)pb->p, sizeof(double));
        fc->xc_xmean = ridge_mem_get(mt, (size_t)fc->X.nrows, sizeof(double));
    }
}

/* Collective: every column block against basis b. */
static int all_blocks(ridge_fit_ctx *fc, const ridge_basis *b, double weight, int score, int *best,
                      int select_here) {
    for (int col0 = 0; col0 < fc->pb->t; col0 += fc->tb) {
        int tb = fc->pb->t - col0 < fc->tb ? fc->pb->t - col0 : fc->tb;
        if (ridge_process_block(fc, b, col0, tb, weight, score, best, select_here) != 0) return -1;
    }
    return 0;
}

static int fit_body(ridge_fit_ctx *fc, const double *x_rows) {
    const ridge_problem *pb = fc->pb;
    ridge_mem *mt = &fc->mt;
    ridge_result *res = fc->res;
    ridge_model *md = fc->model;
    double t0 = MPI_Wtime();
    ridge_rb_init(mt, &fc->X, fc->g, pb->n, pb->p);
    bmc_rowblock_from_c(&fc->X, x_rows, pb->p, 0);
    alloc_outputs(fc);
    res->zero_var_cols = count_zero_variance(fc);
    ridge_lap(fc, RIDGE_PHASE_LOAD, t0);
    res->block_cols = fc->tb;

    ridge_basis b;
    if (pb->mode == RIDGE_MODE_KFOLD)
        for (int f = 0; f < pb->kfold; f++) {
            int f0, f1;
            ridge_fold_rows(pb->n, pb->kfold, f, &f0, &f1);
            if (ridge_basis_build(fc, &b, f0, f1, 1) != 0) return -1;
            int rc = all_blocks(fc, &b, 1.0 / pb->kfold, 1, NULL, 0);
            ridge_basis_free(mt, pb, &b);
            if (rc != 0) return -1;
        }
    if (ridge_basis_build(fc, &b, 0, 0, 0) != 0) return -1;
    memcpy(md->x_mean, b.x_mean, (size_t)pb->p * sizeof(double));
    if (md->dual) { /* Xc rows (C order, by the tiled transpose) and Xc·x̄ for the intercepts */
        t0 = MPI_Wtime();
        bmc_rowblock_to_c(md->xc_rows, pb->p, 0, &fc->X);
        for (long i = 0; i < fc->X.nrows; i++) {
            double *row = md->xc_rows + (size_t)i * (size_t)pb->p, dot = 0.0;
            for (int j = 0; j < pb->p; j++) {
                row[j] -= b.x_mean[j];
                dot += row[j] * b.x_mean[j];
            }
            fc->xc_xmean[i] = dot;
        }
        ridge_lap(fc, RIDGE_PHASE_LOAD, t0);
    }
    int single_pass = pb->mode != RIDGE_MODE_KFOLD && pb->grain == RIDGE_GRAIN_TARGET;
    int rc = 0;
    if (single_pass) {
        rc = all_blocks(fc, &b, 1.0, 1, res->best_index, 1);
    } else {
        if (pb->mode != RIDGE_MODE_KFOLD) rc = all_blocks(fc, &b, 1.0, 1, NULL, 0);
        if (rc == 0) {
            ridge_select(pb, res->scores, res->best_index, res->group_scores);
            rc = all_blocks(fc, &b, 1.0, 0, res->best_index, 0);
        }
    }
    ridge_basis_free(mt, pb, &b);
    if (rc != 0) return -1;
    for (int k = 0; k < pb->t; k++) res->best_alpha[k] = pb->alphas[res->best_index[k]];
    return 0;
}

static int collect_block(void *ctx, const ridge_block_out *out, bmc_err *err);

/* Collective: ridge_fit_stream's body; collect: the sink is ridge_fit's copy into model. */
static int fit_driver(const ridge_problem *pb, const double *x_rows, ridge_fill_fn fill,
                      void *fill_ctx, ridge_sink_fn sink, void *sink_ctx, int collect,
                      ridge_result *result, ridge_model *model, bmc_err *err) {
    BMC_CHECK(pb != NULL && pb->grid != NULL && fill != NULL && result != NULL &&
              model != NULL && err != NULL && (collect || sink != NULL));
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
    int tb = choose_block(pb, collect, err);
    if (bmc_err_agree(g->comm, err)) return -1;

    ridge_fit_ctx fc = {
        .pb = pb,
        .g = g,
        .nb = ridge_problem_block_size(pb),
        .tb = tb,
        .fill = fill,
        .fill_ctx = fill_ctx,
        .sink = sink,
        .sink_ctx = sink_ctx,
        .collect = collect,
        .res = result,
        .model = model,
        .err = err,
    };
    if (collect) {
        fc.sink = collect_block;
        fc.sink_ctx = &fc;
    }
    int rc = fit_body(&fc, x_rows);
    if (fc.xc_xmean) ridge_mem_put(&fc.mt, fc.xc_xmean, (size_t)fc.X.nrows, sizeof(double));
    ridge_rb_free(&fc.mt, &fc.X);
    if (rc != 0) {
        ridge_result_free(result);
        ridge_model_free(model);
        return -1;
    }
    unsigned long peak = fc.mt.peak, maxpeak = 0;
    BMC_MPI(MPI_Allreduce(&peak, &maxpeak, 1, MPI_UNSIGNED_LONG, MPI_MAX, g->comm));
    result->mem_peak = maxpeak;
    result->mem_predicted = ridge_memory_predict_mode(pb, tb, collect);
    BMC_MPI(MPI_Allreduce(fc.phase_s, result->phase_s, RIDGE_N_PHASES, MPI_DOUBLE, MPI_MAX,
                          g->comm));
    return 0;
}

/* The sink of ridge_fit: the block's columns copied into the model (ctx: the fit context). */
static int collect_block(void *ctx, const ridge_block_out *out, bmc_err *err) {
    (void)err;
    ridge_fit_ctx *fc = ctx;
    ridge_model *md = fc->model;
    const ridge_model *blk = out->block;
    size_t t = (size_t)md->t, tb = (size_t)blk->t, c0 = (size_t)out->col0;
    long row0, nrows;
    bmc_rowblock(md->dual ? md->n : md->p, fc->g->size, fc->g->rank, &row0, &nrows);
    for (long i = 0; i < nrows; i++)
        memcpy(md->coef_rows + (size_t)i * t + c0, blk->coef_rows + (size_t)i * tb,
               tb * sizeof(double));
    memcpy(md->y_mean + c0, blk->y_mean, tb * sizeof(double));
    memcpy(md->intercept + c0, blk->intercept, tb * sizeof(double));
    return 0;
}

int ridge_fit_stream(const ridge_problem *pb, const double *x_rows, ridge_fill_fn fill,
                     void *fill_ctx, ridge_sink_fn sink, void *sink_ctx, ridge_result *result,
                     ridge_model *model, bmc_err *err) {
    return fit_driver(pb, x_rows, fill, fill_ctx, sink, sink_ctx, 0, result, model, err);
}

int ridge_fit(const ridge_problem *pb, const double *x_rows, ridge_fill_fn fill, void *fill_ctx,
              ridge_result *result, ridge_model *model, bmc_err *err) {
    return fit_driver(pb, x_rows, fill, fill_ctx, NULL, NULL, 1, result, model, err);
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
    rows_ctx c = {.y = y_rows, .t = pb->t, .nrows = nrows};
    return ridge_fit(pb, x_rows, fill_from_rows, &c, result, model, err);
}

int ridge_fit_rows_stream(const ridge_problem *pb, const double *x_rows, const double *y_rows,
                          ridge_sink_fn sink, void *sink_ctx, ridge_result *result,
                          ridge_model *model, bmc_err *err) {
    long row0, nrows;
    bmc_rowblock(pb->n > 0 ? pb->n : 0, pb->grid->size, pb->grid->rank, &row0, &nrows);
    rows_ctx c = {.y = y_rows, .t = pb->t, .nrows = nrows};
    return ridge_fit_stream(pb, x_rows, fill_from_rows, &c, sink, sink_ctx, result, model, err);
}
