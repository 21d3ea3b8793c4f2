/* predict.c — prediction with a fitted ridge model (Ŷ = X·W + intercept; in the dual form
 * Ŷ = (X·Xcᵀ)·C + intercept, by column blocks of the coefficients) and the release of the fit's model and result arrays (see ridge.h).
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

int ridge_predict(const ridge_model *md, int m, const double *x_rows, double *y_rows,
                  bmc_err *err) {
    BMC_CHECK(md != NULL && md->grid != NULL && err != NULL);
    const bmc_grid *g = md->grid;
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
    const int nb = 64;
    bmc_rowblock_mat xrb;
    bmc_distmat xt, lhs;
    ridge_rb_init(&mt, &xrb, g, m, md->p);
    bmc_rowblock_from_c(&xrb, x_rows, md->p, 0);
    ridge_dm_init(&mt, &xt, g, m, md->p, nb);
    bmc_rowblock_to_distmat(&xt, 0, &xrb, 0, m);
    ridge_rb_free(&mt, &xrb);
    int wrows = md->dual ? md->n : md->p;
    if (md->dual) { /* Ŷ = (X·Xcᵀ)·C: never W = Xcᵀ·C (p × t), which costs 2·p·n·t flops */
        bmc_rowblock_mat xcrb;
        bmc_distmat xc;
        ridge_rb_init(&mt, &xcrb, g, md->n, md->p);
        bmc_rowblock_from_c(&xcrb, md->xc_rows, md->p, 0);
        ridge_dm_init(&mt, &xc, g, md->n, md->p, nb);
        bmc_rowblock_to_distmat(&xc, 0, &xcrb, 0, md->n);
        ridge_rb_free(&mt, &xcrb);
        ridge_dm_init(&mt, &lhs, g, m, md->n, nb);
        bmc_distmat_gemm("N", "T", 1.0, &xt, &xc, 0.0, &lhs);
        ridge_dm_free(&mt, &xc);
        ridge_dm_free(&mt, &xt);
    } else {
        lhs = xt;
    }
    /* The coefficients in column blocks of about 8 Mi doubles (over all ranks), so the
     * working set beyond the model and the output stays small whatever t. */
    long want = (8L << 20) / ((long)wrows + (long)m + 1);
    int tb = (int)(want < 64 ? 64 : want);
    if (tb > md->t) tb = md->t;
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
        bmc_distmat_gemm("N", "N", 1.0, &lhs, &c, 0.0, &yhat);
        ridge_dm_free(&mt, &c);
        ridge_rb_init(&mt, &yrb, g, m, w);
        bmc_rowblock_from_distmat(&yrb, &yhat);
        ridge_dm_free(&mt, &yhat);
        bmc_rowblock_to_c(y_rows, md->t, col0, &yrb);
        ridge_rb_free(&mt, &yrb);
    }
    ridge_dm_free(&mt, &lhs);
    for (long i = 0; i < nrows; i++)
        for (int k = 0; k < md->t; k++) y_rows[i * md->t + k] += md->intercept[k];
    return 0;
}
