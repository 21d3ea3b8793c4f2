/* test_ridge.c — ridge_fit / ridge_predict on 1, 2 or 4 ranks, every grid shape.
 *
 * `test_ridge CASE...` reads the case folders ridge_ref.py wrote (meta.txt, raw float64 X, Y,
 * Xt), fits each on every grid shape of the job, checks on rank 0 the HPL-style scaled
 * residual of the normal equations (primal) or the dual system, and writes the results
 * (choice, scores, predictions, memory) as raw float64 files for ridge_ref.py to compare with
 * scikit-learn and NumPy. `test_ridge --errors` checks that bad input gives the same agreed
 * error on every rank (never a hang). Not here: the references themselves (ridge_ref.py).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_scalapack.h"
#include "bmc_test.h"
#include "ridge.h"

typedef struct tcase {
    int n, p, t, m, na, mode, k, grain, token, ngroups, nb;
    long budget;
    int precision; /* ridge_precision */
    double alphas[64], weights[16];
    int group_of[64];
    double *X, *Y, *Xt; /* whole matrices, C order */
} tcase;

static double *read_raw(const char *dir, const char *name, size_t count) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    BMC_CHECK(f != NULL);
    double *v = XNEW(v, count);
    BMC_CHECK(fread(v, sizeof *v, count, f) == count);
    fclose(f);
    return v;
}

static void write_raw(const char *dir, const char *name, const double *v, size_t count) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    BMC_CHECK(f != NULL);
    BMC_CHECK(fwrite(v, sizeof *v, count, f) == count);
    fclose(f);
}

/* meta.txt: "key value..." lines. */
static int read_case(const char *dir, tcase *c) {
    char path[512], key[64];
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    memset(c, 0, sizeof *c);
    while (fscanf(f, "%63s", key) == 1) {
        if (!strcmp(key, "alphas") || !strcmp(key, "weights") || !strcmp(key, "group_of")) {
            int cnt;
            BMC_CHECK(fscanf(f, "%d", &cnt) == 1 && cnt <= 64);
            for (int i = 0; i < cnt; i++) {
                if (!strcmp(key, "alphas")) BMC_CHECK(fscanf(f, "%lf", &c->alphas[i]) == 1);
                if (!strcmp(key, "weights")) BMC_CHECK(fscanf(f, "%lf", &c->weights[i]) == 1);
                if (!strcmp(key, "group_of")) BMC_CHECK(fscanf(f, "%d", &c->group_of[i]) == 1);
            }
            continue;
        }
        long v;
        BMC_CHECK(fscanf(f, "%ld", &v) == 1);
        int iv = (int)v;
        if (!strcmp(key, "n")) c->n = iv;
        else if (!strcmp(key, "p")) c->p = iv;
        else if (!strcmp(key, "t")) c->t = iv;
        else if (!strcmp(key, "m")) c->m = iv;
        else if (!strcmp(key, "na")) c->na = iv;
        else if (!strcmp(key, "mode")) c->mode = iv;
        else if (!strcmp(key, "k")) c->k = iv;
        else if (!strcmp(key, "grain")) c->grain = iv;
        else if (!strcmp(key, "token")) c->token = iv;
        else if (!strcmp(key, "ngroups")) c->ngroups = iv;
        else if (!strcmp(key, "nb")) c->nb = iv;
        else if (!strcmp(key, "budget")) c->budget = v;
        else if (!strcmp(key, "precision")) c->precision = iv;
    }
    fclose(f);
    c->X = read_raw(dir, "X.bin", (size_t)c->n * (size_t)c->p);
    c->Y = read_raw(dir, "Y.bin", (size_t)c->n * (size_t)c->t);
    c->Xt = read_raw(dir, "Xt.bin", (size_t)c->m * (size_t)c->p);
    return 0;
}

static void problem_of(const tcase *c, const bmc_grid *g, ridge_problem *pb) {
    *pb = (ridge_problem){
        .grid = g,
        .n = c->n,
        .p = c->p,
        .t = c->t,
        .n_alpha = c->na,
        .alphas = c->alphas,
        .mode = (ridge_mode)c->mode,
        .kfold = c->k,
        .grain = (ridge_grain)c->grain,
        .token_size = c->token,
        .n_groups = c->ngroups,
        .group_of = c->group_of,
        .group_weight = c->weights,
        .nb = c->nb,
        .precision = (ridge_precision)c->precision,
    };
    /* budget 1 means: 40% of the way from one column per block to all columns at once */
    if (c->budget == 1) {
        size_t lo = ridge_memory_predict(pb, 1), hi = ridge_memory_predict(pb, c->t);
        pb->mem_budget = lo + (hi - lo) * 2 / 5;
    } else {
        pb->mem_budget = (size_t)c->budget;
    }
}

/* Rank 0: gather every rank's row block (row width w) into a whole matrix. */
static double *gather_rows(const bmc_grid *g, int rows, int w, const double *mine) {
    int *counts = XNEW(counts, (size_t)g->size), *displs = XNEW(displs, (size_t)g->size);
    for (int r = 0; r < g->size; r++) {
        long r0, nr;
        bmc_rowblock(rows, g->size, r, &r0, &nr);
        counts[r] = (int)(nr * w);
        displs[r] = (int)(r0 * w);
    }
    double *all = XNEW(all, (size_t)rows * (size_t)w + 1);
    MPI_Gatherv(mine, counts[g->rank], MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, g->comm);
    free(counts);
    free(displs);
    return all;
}

/* Rank 0: HPL-style scaled residual of the solved systems, per target with its α.
 * primal: ‖(XcᵀXc + αI)w − Xcᵀyc‖∞ / (((‖Xc‖₁‖Xc‖∞ + α) ‖w‖∞ + ‖Xc‖₁‖yc‖∞) n ε);
 * dual:   ‖(XcXcᵀ + αI)c − yc‖∞   / (((‖Xc‖₁‖Xc‖∞ + α) ‖c‖∞ + ‖yc‖∞) n ε). */
static double scaled_residual(const tcase *c, const ridge_model *md, const double *coef,
                              const double *best_alpha) {
    int n = c->n, p = c->p, t = c->t;
    double *xc = XNEW(xc, (size_t)n * (size_t)p), worst = 0.0, n1 = 0.0, ninf = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < p; j++) xc[i * p + j] = c->X[i * p + j] - md->x_mean[j];
    for (int j = 0; j < p; j++) {
        double s = 0.0;
        for (int i = 0; i < n; i++) s += fabs(xc[i * p + j]);
        if (s > n1) n1 = s;
    }
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < p; j++) s += fabs(xc[i * p + j]);
        if (s > ninf) ninf = s;
    }
    int rows = md->dual ? n : p;
    double *v = XNEW(v, (size_t)(n > p ? n : p));
    for (int k = 0; k < t; k++) {
        double ym = 0.0, cn = 0.0, rn = 0.0, bn = 0.0, al = best_alpha[k];
        for (int i = 0; i < n; i++) ym += c->Y[i * t + k];
        ym /= n;
        for (int i = 0; i < n; i++) bn = fmax(bn, fabs(c->Y[i * t + k] - ym));
        if (!md->dual) bn *= n1; /* ‖Xcᵀyc‖∞ ≤ ‖Xc‖₁‖yc‖∞ */
        for (int r = 0; r < rows; r++) cn = fmax(cn, fabs(coef[r * t + k]));
        if (md->dual) { /* v = Xcᵀc, then (Xc v + αc − yc) */
            for (int j = 0; j < p; j++) {
                v[j] = 0.0;
                for (int i = 0; i < n; i++) v[j] += xc[i * p + j] * coef[i * t + k];
            }
            for (int i = 0; i < n; i++) {
                double s = al * coef[i * t + k] - (c->Y[i * t + k] - ym);
                for (int j = 0; j < p; j++) s += xc[i * p + j] * v[j];
                rn = fmax(rn, fabs(s));
            }
        } else { /* v = Xc w − yc, then Xcᵀv + αw */
            for (int i = 0; i < n; i++) {
                double s = -(c->Y[i * t + k] - ym);
                for (int j = 0; j < p; j++) s += xc[i * p + j] * coef[j * t + k];
                v[i] = s;
            }
            for (int j = 0; j < p; j++) {
                double s = al * coef[j * t + k];
                for (int i = 0; i < n; i++) s += xc[i * p + j] * v[i];
                rn = fmax(rn, fabs(s));
            }
        }
        double res = rn / (((n1 * ninf + al) * cn + bn) * n * DBL_EPSILON);
        if (!(res <= worst)) worst = res;
    }
    free(v);
    free(xc);
    return worst;
}

/* The sink of check_stream: every block copied into whole-width arrays (this rank's rows). */
typedef struct gather_sink {
    double *coef, *y_mean, *intercept;
    int *best, t, blocks;
} gather_sink;

static int gather_block(void *ctx, const ridge_block_out *out, bmc_err *err) {
    (void)err;
    gather_sink *gs = ctx;
    const ridge_model *b = out->block;
    long r0, nr;
    bmc_rowblock(b->dual ? b->n : b->p, b->grid->size, b->grid->rank, &r0, &nr);
    for (long i = 0; i < nr; i++)
        memcpy(gs->coef + (size_t)i * (size_t)gs->t + (size_t)out->col0,
               b->coef_rows + (size_t)i * (size_t)b->t, (size_t)b->t * sizeof(double));
    memcpy(gs->y_mean + out->col0, b->y_mean, (size_t)b->t * sizeof(double));
    memcpy(gs->intercept + out->col0, b->intercept, (size_t)b->t * sizeof(double));
    memcpy(gs->best + out->col0, out->best_index, (size_t)b->t * sizeof(int));
    gs->blocks++;
    return 0;
}

/* Largest relative difference of two arrays (max |a − b| over max |b|), on this rank. */
static double rel_diff(const double *a, const double *b, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return den > 0 ? num / den : num;
}

/* Collective: ridge_fit_stream with a budget that cuts Y into column blocks equals the
 * unblocked ridge_fit: byte for byte with blocks of whole column quanta (cases with t ≥ 2
 * quanta) on 1 and 2 ranks; to rounding (1e-12; the MIXED screen's float32 scores 1e-6) with
 * blocks of a third of a small t, where GEMMs narrower than a quantum differ by shape, and on
 * 4 ranks, where two fits of the same data already differ at 1e-15 (pdsyevd); and its tracked
 * peak equals its prediction. */
static void check_stream(const char *dir, const tcase *c, const bmc_grid *g) {
    ridge_problem pb;
    problem_of(c, g, &pb);
    long r0, nr;
    bmc_rowblock(c->n, g->size, g->rank, &r0, &nr);
    const double *x = c->X + r0 * c->p, *y = c->Y + r0 * c->t;
    bmc_err err = {0};
    pb.mem_budget = 0;
    ridge_result whole, res;
    ridge_model mw, md;
    TEST_CHECK(ridge_fit_rows(&pb, x, y, &whole, &mw, &err) == 0, "%s: %s", dir, err.msg);
    int wide = c->t >= 2 * RIDGE_COL_QUANTUM, exact = wide && g->size <= 2;
    /* exact: half of t, which the solver rounds down to whole column quanta */
    int tb = wide ? c->t / 2 : c->t > 2 ? (c->t + 2) / 3 : 1;
    pb.sink_col_bytes = 24; /* a sink that says it uses some memory: counted, not used */
    pb.mem_budget = ridge_memory_predict_stream(&pb, tb);
    pb.max_block_cols = tb; /* the prediction can be flat in the width on tiny problems */
    long cr0, cnr;
    bmc_rowblock(mw.dual ? c->n : c->p, g->size, g->rank, &cr0, &cnr);
    size_t ncoef = (size_t)cnr * (size_t)c->t;
    gather_sink gs = {.coef = XNEW(gs.coef, ncoef + 1), .y_mean = XNEW(gs.y_mean, c->t),
                      .intercept = XNEW(gs.intercept, c->t), .best = XNEW(gs.best, c->t),
                      .t = c->t};
    ridge_fit_rows_stream(&pb, x, y, gather_block, &gs, &res, &md, &err);
    TEST_CHECK(!err.failed && md.coef_rows == NULL, "%s: stream fit: %s", dir, err.msg);
    TEST_CHECK(res.block_cols <= tb &&
                   gs.blocks == (c->t + res.block_cols - 1) / res.block_cols && gs.blocks > 1,
               "%s: %d blocks of %d columns, wanted at most %d", dir, gs.blocks, res.block_cols,
               tb);
    tb = res.block_cols;
    size_t t = (size_t)c->t, na = (size_t)c->na;
    int same = !memcmp(gs.best, whole.best_index, t * sizeof(int)) &&
               !memcmp(md.x_mean, mw.x_mean, (size_t)c->p * sizeof(double));
    if (exact)
        same = same && !memcmp(gs.coef, mw.coef_rows, ncoef * sizeof(double)) &&
               !memcmp(gs.y_mean, mw.y_mean, t * sizeof(double)) &&
               !memcmp(gs.intercept, mw.intercept, t * sizeof(double)) &&
               !memcmp(res.scores, whole.scores, na * t * sizeof(double));
    else
        same = same && rel_diff(gs.coef, mw.coef_rows, ncoef) <= 1e-12 &&
               rel_diff(gs.intercept, mw.intercept, t) <= 1e-12 &&
               rel_diff(gs.y_mean, mw.y_mean, t) <= 1e-14 &&
               rel_diff(res.scores, whole.scores, na * t) <= (res.mixed ? 1e-6 : 1e-12);
    int all = 0;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_LAND, g->comm);
    TEST_CHECK(all, "%s grid %dx%d: blocked stream (%d cols) differs from the unblocked fit",
               dir, g->nprow, g->npcol, tb);
    TEST_CHECK(res.mem_peak <= res.mem_predicted && res.mem_predicted <= res.mem_peak + 64 &&
                   res.mem_peak <= pb.mem_budget,
               "%s: stream peak %zu, predicted %zu, budget %zu", dir, res.mem_peak,
               res.mem_predicted, pb.mem_budget);
    if (g->rank == 0)
        printf("%s grid %dx%d: stream in %d blocks of %d equals the unblocked fit (%s) ... %s\n",
               dir, g->nprow, g->npcol, gs.blocks, tb, exact ? "exactly" : "to 1e-12",
               all ? "PASSED" : "FAILED");
    free(gs.coef);
    free(gs.y_mean);
    free(gs.intercept);
    free(gs.best);
    ridge_result_free(&res);
    ridge_model_free(&md);
    ridge_result_free(&whole);
    ridge_model_free(&mw);
}

static void run_case(const char *dir, const tcase *c, int nprow, int npcol) {
    bmc_grid g;
    bmc_err err = {0};
    TEST_CHECK(bmc_grid_init(&g, MPI_COMM_WORLD, nprow, npcol, &err) == 0, "%s", err.msg);
    ridge_problem pb;
    problem_of(c, &g, &pb);
    long r0, nr, m0, mr;
    bmc_rowblock(c->n, g.size, g.rank, &r0, &nr);
    bmc_rowblock(c->m, g.size, g.rank, &m0, &mr);
    ridge_result res;
    ridge_model md;
    int rc = ridge_fit_rows(&pb, c->X + r0 * c->p, c->Y + r0 * c->t, &res, &md, &err);
    TEST_CHECK(rc == 0, "%s: fit failed: %s", dir, err.msg);
    if (rc != 0) {
        bmc_grid_free(&g);
        return;
    }
    double *pred = XNEW(pred, (size_t)mr * (size_t)c->t + 1);
    rc = ridge_predict(&md, c->m, c->Xt + m0 * c->p, pred, &err);
    TEST_CHECK(rc == 0, "%s: predict failed: %s", dir, err.msg);
    double *all_pred = gather_rows(&g, c->m, c->t, pred);
    long cr0, cnr;
    int crows = md.dual ? c->n : c->p;
    bmc_rowblock(crows, g.size, g.rank, &cr0, &cnr);
    double *coef = gather_rows(&g, crows, c->t, md.coef_rows);
    TEST_CHECK(res.mem_peak <= res.mem_predicted && res.mem_predicted <= res.mem_peak + 64,
               "%s grid %dx%d: measured peak %zu, predicted %zu", dir, nprow, npcol,
               res.mem_peak, res.mem_predicted);
    if (pb.mem_budget > 0)
        TEST_CHECK(res.mem_peak <= pb.mem_budget, "peak %zu over budget %zu", res.mem_peak,
                   pb.mem_budget);
    if (g.rank == 0) {
        double resid = scaled_residual(c, &md, coef, res.best_alpha);
        int passed = resid < 16.0;
        printf("%s grid %dx%d (%s, block %d cols, peak %zu B): scaled residual %.3g ... %s\n",
               dir, nprow, npcol, md.dual ? "dual" : "primal", res.block_cols, res.mem_peak,
               resid, passed ? "PASSED" : "FAILED");
        TEST_CHECK(passed, "scaled residual %g", resid);
        char name[64];
        size_t na = (size_t)c->na, t = (size_t)c->t;
        double *v = XNEW(v, na * t + 8);
        for (size_t k = 0; k < t; k++) v[k] = res.best_index[k];
        snprintf(name, sizeof name, "best_%dx%d.bin", nprow, npcol);
        write_raw(dir, name, v, t);
        snprintf(name, sizeof name, "scores_%dx%d.bin", nprow, npcol);
        write_raw(dir, name, res.scores, na * t);
        snprintf(name, sizeof name, "gscores_%dx%d.bin", nprow, npcol);
        write_raw(dir, name, res.group_scores, na * (size_t)res.n_groups);
        snprintf(name, sizeof name, "pred_%dx%d.bin", nprow, npcol);
        write_raw(dir, name, all_pred, (size_t)c->m * t);
        v[0] = res.zero_var_cols;
        v[1] = res.block_cols;
        v[2] = (double)res.rescored;
        v[3] = res.mixed;
        snprintf(name, sizeof name, "info_%dx%d.bin", nprow, npcol);
        write_raw(dir, name, v, 4);
        free(v);
    }
    free(coef);
    free(all_pred);
    free(pred);
    ridge_result_free(&res);
    ridge_model_free(&md);
    check_stream(dir, c, &g);
    bmc_grid_free(&g);
}

/* ---- bad input: agreed errors ------------------------------------------------------------- */

static int failing_fill(void *ctx, int col0, int ncols, double *rows, bmc_err *err) {
    (void)col0;
    (void)ncols;
    (void)rows;
    int rank = *(const int *)ctx, size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == size - 1) return bmc_err_set(err, NULL, "fill: cannot read block");
    return 0;
}

/* Fit with the given tweak; every rank must fail with rank 0's message containing `want`. */
static void expect_error(const char *what, const ridge_problem *pb, const double *x,
                         const double *y, int use_failing_fill, const char *want) {
    ridge_result res;
    ridge_model md;
    bmc_err err = {0};
    int rc;
    if (use_failing_fill) {
        int rank = pb->grid->rank;
        rc = ridge_fit(pb, x, failing_fill, &rank, &res, &md, &err);
    } else {
        rc = ridge_fit_rows(pb, x, y, &res, &md, &err);
    }
    TEST_CHECK(rc == -1 && err.failed, "%s: accepted (rc %d)", what, rc);
    TEST_CHECK(strstr(err.msg, want) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, want);
    char msg0[BMC_ERR_MSG_MAX];
    memcpy(msg0, err.msg, sizeof msg0);
    MPI_Bcast(msg0, (int)sizeof msg0, MPI_CHAR, 0, MPI_COMM_WORLD);
    TEST_CHECK(strcmp(msg0, err.msg) == 0, "%s: '%s' vs rank 0 '%s'", what, err.msg, msg0);
    if (rc == 0) {
        ridge_result_free(&res);
        ridge_model_free(&md);
    }
}

static void check_errors(void) {
    bmc_grid g;
    bmc_err err = {0};
    BMC_CHECK(bmc_grid_init(&g, MPI_COMM_WORLD, 0, 0, &err) == 0);
    enum { N = 12, P = 5, T = 3 };
    double x[N * P], y[N * T];
    for (int i = 0; i < N * P; i++) x[i] = sin(1.0 + i * 0.7);
    for (int i = 0; i < N * T; i++) y[i] = cos(2.0 + i * 0.3);
    long r0, nr;
    bmc_rowblock(N, g.size, g.rank, &r0, &nr);
    double alphas[] = {0.1, 1.0, 10.0};
    ridge_problem pb = {.grid = &g, .n = N, .p = P, .t = T, .n_alpha = 3, .alphas = alphas,
                        .nb = 2};
    const double *xr = x + r0 * P, *yr = y + r0 * T;

    /* a good fit first */
    ridge_result res;
    ridge_model md;
    TEST_CHECK(ridge_fit_rows(&pb, xr, yr, &res, &md, &err) == 0, "good fit: %s", err.msg);
    ridge_result_free(&res);
    ridge_model_free(&md);

    ridge_problem bad = pb;
    double dec[] = {1.0, 0.5, 2.0}, dup[] = {1.0, 1.0, 2.0}, neg[] = {-1.0, 1.0, 2.0},
           zero[] = {0.0, 1.0, 2.0};
    bad.alphas = dec;
    expect_error("decreasing alphas", &bad, xr, yr, 0, "not strictly increasing");
    bad.alphas = dup;
    expect_error("duplicate alphas", &bad, xr, yr, 0, "not strictly increasing");
    bad.alphas = neg;
    expect_error("negative alpha", &bad, xr, yr, 0, "penalty 0");
    bad.alphas = zero;
    expect_error("zero alpha", &bad, xr, yr, 0, "penalty 0");
    bad = pb;
    bad.n_alpha = 0;
    expect_error("no alphas", &bad, xr, yr, 0, "empty penalty grid");
    bad = pb;
    bad.t = 0;
    expect_error("no targets", &bad, xr, yr, 0, "empty or too small");
    bad = pb;
    bad.n = 0;
    expect_error("no samples", &bad, xr, yr, 0, "empty or too small");
    bad = pb;
    bad.mode = RIDGE_MODE_KFOLD;
    bad.kfold = N + 1;
    expect_error("too many folds", &bad, xr, yr, 0, "k-fold");
    bad = pb;
    bad.mem_budget = 100;
    expect_error("tiny budget", &bad, xr, yr, 0, "memory budget");
    bad = pb;
    bad.grain = RIDGE_GRAIN_TOKEN;
    expect_error("token size 0", &bad, xr, yr, 0, "token size");

    /* non-finite values on the last rank only */
    double xb[N * P], yb[N * T];
    memcpy(xb, x, sizeof x);
    memcpy(yb, y, sizeof y);
    xb[(N - 1) * P + 2] = NAN;
    yb[(N - 1) * T + 1] = INFINITY;
    expect_error("NaN in X", &pb, xb + r0 * P, yr, 0, "X row 11 column 2");
    expect_error("Inf in Y", &pb, xr, yb + r0 * T, 0, "Y row 11 column 1");
    expect_error("fill fails", &pb, xr, yr, 1, "cannot read block");
    bmc_grid_free(&g);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc == 2 && !strcmp(argv[1], "--errors")) {
        check_errors();
    } else {
        BMC_CHECK(argc >= 2);
        for (int a = 1; a < argc; a++) {
            tcase c;
            TEST_CHECK(read_case(argv[a], &c) == 0, "cannot read case %s", argv[a]);
            for (int nprow = 1; nprow <= size; nprow++)
                if (size % nprow == 0) run_case(argv[a], &c, nprow, size / nprow);
            free(c.X);
            free(c.Y);
            free(c.Xt);
        }
    }
    int status = test_summary_mpi(MPI_COMM_WORLD);
    Cblacs_exit(1);
    MPI_Finalize();
    return status;
}
