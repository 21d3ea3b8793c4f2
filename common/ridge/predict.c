/* predict.c — prediction with a fitted ridge model (Ŷ = X·W + intercept; in the dual form
 * Ŷ = (X·Xcᵀ)·C + intercept): a predictor forms the left-hand side once and applies it to any
 * column block of the coefficients (a whole model, or one block of ridge_fit_stream's); and
 * the release of the fit's model and result arrays (see ridge.h).
 *
 * Collective over the model's grid; the GEMMs run on the 2-D context. Not here: the fit, the
 * choice of penalties, file I/O.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ridge.h"
#include "ridge_dist.h"

void ridge_result_free(ridge_result *r) {
    if (r == NULL) return;
    free(r->scores);
    free(r->group_scores);
    free(r->best_index);
    free(r->best_alpha);
    memset(r, 0, sizeof *r);
}

void ridge_model_free(ridge_model *m) {
    if (m == NULL) return;
    free(m->x_mean);
    free(m->y_mean);
    free(m->intercept);
    free(m->coef_rows);
    free(m->xc_rows);
    memset(m, 0, sizeof *m);
}

/* Local: the columns per GEMM of ridge_predict_cols, about 8 Mi doubles over all ranks, so the
 * working set beyond the lhs and the output stays small whatever t. */
static int predict_cols_per_gemm(int rows, int m, int t) {
    long want = (8L << 20) / ((long)rows + (long)m + 1);
    int tb = (int)(want < 64 ? 64 : want);
    return tb > t ? t : tb;
}

/* Local: this rank's bytes of an m × n matrix on the grid in nb × nb blocks, and of its
 * row block (as bmc_distmat_init / bmc_rowblock_init allocate them). */
static size_t dm_bytes(const bmc_grid *g, int m, int n, int nb) {
    int ml = bmc_numroc(m, nb, g->myrow, 0, g->nprow), nl = bmc_numroc(n, nb, g->mycol, 0, g->npcol);
    return (size_t)(ml > 1 ? ml : 1) * (size_t)nl * sizeof(double);
}
static size_t rb_bytes(const bmc_grid *g, int m, int n) {
    long r0, nr;
    bmc_rowblock(m, g->size, g->rank, &r0, &nr);
    return (size_t)(nr > 1 ? nr : 1) * (size_t)n * sizeof(double);
}

enum { PREDICT_NB = 64 };

size_t ridge_predictor_bytes(const bmc_grid *g, int m, int n, int p, int dual, size_t *peak) {
    size_t xt = dm_bytes(g, m, p, PREDICT_NB), pk = xt + rb_bytes(g, m, p);
    if (!dual) {
        if (peak) *peak = pk;
        return xt;
    }
    size_t xc = dm_bytes(g, n, p, PREDICT_NB), lhs = dm_bytes(g, m, n, PREDICT_NB);
    pk = pk > xt + xc + rb_bytes(g, n, p) ? pk : xt + xc + rb_bytes(g, n, p);
    pk = pk > xt + xc + lhs ? pk : xt + xc + lhs;
    if (peak) *peak = pk;
    return lhs;
}

size_t ridge_predict_col_bytes(const bmc_grid *g, int m, int n, int p, int dual) {
    int rows = dual ? n : p; /* per column: wrb + c, or c + yhat, or yhat + yrb (the most) */
    size_t a = rb_bytes(g, rows, 1) + dm_bytes(g, rows, 1, 1);
    size_t b = dm_bytes(g, rows, 1, 1) + dm_bytes(g, m, 1, 1);
    size_t c = dm_bytes(g, m, 1, 1) + rb_bytes(g, m, 1);
    size_t mx = a > b ? a : b;
    return mx > c ? mx : c;
}

int ridge_predictor_init(ridge_predictor *pr, const ridge_model *md, int m, const double *x_rows,
                         bmc_err *err) {
    BMC_CHECK(pr != NULL && md != NULL && md->grid != NULL && err != NULL);
    const bmc_grid *g = md->grid;
    memset(pr, 0, sizeof *pr);
    ridge_mem mt = {0, 0};
    if (m < 1) bmc_err_set(err, "give at least one test row", "ridge: %d test rows", m);
    long row0 = 0, nrows = 0;
    if (m >= 1) bmc_rowblock(m, g->size, g->rank, &row0, &nrows);
    for (size_t q = 0; q < (size_t)nrows * (size_t)md->p; q++)
        if (!isfinite(x_rows[q])) {
            bmc_err_set(err, "remove or impute non-finite feature values",
                        "ridge: test X row %ld column %ld is %g (not finite)",
                        row0 + (long)(q / (size_t)md->p), (long)(q % (size_t)md->p), x_rows[q]);
            break;
        }
    if (bmc_err_agree(g->comm, err)) return -1;
    const int nb = PREDICT_NB;
    bmc_rowblock_mat xrb;
    bmc_distmat xt;
    ridge_rb_init(&mt, &xrb, g, m, md->p);
    bmc_rowblock_from_c(&xrb, x_rows, md->p, 0);
    ridge_dm_init(&mt, &xt, g, m, md->p, nb);
    bmc_rowblock_to_distmat(&xt, 0, &xrb, 0, m);
    ridge_rb_free(&mt, &xrb);
    pr->grid = g;
    pr->m = m;
    pr->rows = md->dual ? md->n : md->p;
    if (md->dual) { /* Ŷ = (X·Xcᵀ)·C: never W = Xcᵀ·C (p × t), which costs 2·p·n·t flops */
        bmc_rowblock_mat xcrb;
        bmc_distmat xc;
        ridge_rb_init(&mt, &xcrb, g, md->n, md->p);
        bmc_rowblock_from_c(&xcrb, md->xc_rows, md->p, 0);
        ridge_dm_init(&mt, &xc, g, md->n, md->p, nb);
        bmc_rowblock_to_distmat(&xc, 0, &xcrb, 0, md->n);
        ridge_rb_free(&mt, &xcrb);
        ridge_dm_init(&mt, &pr->lhs, g, m, md->n, nb);
        bmc_distmat_gemm("N", "T", 1.0, &xt, &xc, 0.0, &pr->lhs);
        ridge_dm_free(&mt, &xc);
        ridge_dm_free(&mt, &xt);
    } else {
        pr->lhs = xt;
    }
    pr->bytes = mt.cur;
    return 0;
}

void ridge_predict_cols(const ridge_predictor *pr, const ridge_model *md, double *y_rows) {
    const bmc_grid *g = pr->grid;
    const int nb = PREDICT_NB, wrows = pr->rows, m = pr->m;
    ridge_mem mt = {0, 0};
    long row0, nrows;
    bmc_rowblock(m, g->size, g->rank, &row0, &nrows);
    int tb = predict_cols_per_gemm(wrows, m, md->t);
    for (int col0 = 0; col0 < md->t; col0 += tb) {
        int w = md->t - col0 < tb ? md->t - col0 : tb;
        bmc_rowblock_mat wrb, yrb;
        bmc_distmat c, yhat;
        ridge_rb_init(&mt, &wrb, g, wrows, w);
        bmc_rowblock_from_c(&wrb, md->coef_rows, md->t, col0);
        ridge_dm_init(&mt, &c, g, wrows, w, nb);
        bmc_rowblock_to_distmat(&c, 0, &wrb, 0, wrows);
        ridge_rb_free(&mt, &wrb);
        ridge_dm_init(&mt, &yhat, g, m, w, nb);
        bmc_distmat_gemm("N", "N", 1.0, &pr->lhs, &c, 0.0, &yhat);
        ridge_dm_free(&mt, &c);
        ridge_rb_init(&mt, &yrb, g, m, w);
        bmc_rowblock_from_distmat(&yrb, &yhat);
        ridge_dm_free(&mt, &yhat);
        bmc_rowblock_to_c(y_rows, md->t, col0, &yrb);
        ridge_rb_free(&mt, &yrb);
    }
    for (long i = 0; i < nrows; i++)
        for (int k = 0; k < md->t; k++) y_rows[i * md->t + k] += md->intercept[k];
}

void ridge_predictor_free(ridge_predictor *pr) {
    if (pr->lhs.data) bmc_distmat_free(&pr->lhs);
    memset(pr, 0, sizeof *pr);
}

int ridge_predict(const ridge_model *md, int m, const double *x_rows, double *y_rows,
                  bmc_err *err) {
    ridge_predictor pr;
    if (ridge_predictor_init(&pr, md, m, x_rows, err) != 0) return -1;
    ridge_predict_cols(&pr, md, y_rows);
    ridge_predictor_free(&pr);
    return 0;
}
