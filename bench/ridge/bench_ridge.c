/* bench_ridge.c — times bmc-train's distributed ridge solver (ridge_fit + ridge_predict) on
 * an HDF5 problem, for bench_ridge.py to compare with scikit-learn and NumPy.
 *
 * Reads /X [n,p] and /Xt [m,p] in row blocks and streams /Y [n,t] in column blocks through
 * the fill callback (all float64), fits on the given grid and penalty grid, predicts /Xt, and
 * prints one JSON line on rank 0: phase seconds, GFLOP/s of the GEMM phases against this
 * machine's dgemm rate (measured on every rank at once, same threads, after the fit), the
 * tracked peak and getrusage maxrss per rank. Writes /pred [m,t] and /best_alpha [t] to --out.
 * Not here: the data, the references, the tables (bench_ridge.py).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_h5io.h"
#include "bmc_scalapack.h"
#include "ridge.h"

typedef struct opts {
    const char *data, *out, *mode;
    int nprow, npcol, nb, n_alpha, dgemm_n;
    double alphas[64];
    double budget_mib;
} opts;

static int parse_alphas(const char *s, opts *o) {
    double lo, hi;
    int cnt;
    if (sscanf(s, "logspace:%lf:%lf:%d", &lo, &hi, &cnt) == 3 && cnt >= 1 && cnt <= 64) {
        for (int a = 0; a < cnt; a++)
            o->alphas[a] = pow(10.0, cnt > 1 ? lo + (hi - lo) * a / (cnt - 1) : lo);
        o->n_alpha = cnt;
        return 0;
    }
    o->n_alpha = 0;
    const char *p = s;
    while (*p && o->n_alpha < 64) {
        char *end;
        o->alphas[o->n_alpha++] = strtod(p, &end);
        if (end == p) return -1;
        p = *end == ',' ? end + 1 : end;
    }
    return *p ? -1 : 0;
}

static int parse_args(int argc, char **argv, opts *o, bmc_err *err) {
    memset(o, 0, sizeof *o);
    o->mode = "loo";
    o->dgemm_n = 3000;
    parse_alphas("logspace:-2:6:17", o);
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) return bmc_err_set(err, "see the usage in bench/ridge/README.md",
                                          "bench_ridge: option %s needs a value", k);
        i++;
        if (!strcmp(k, "--data")) o->data = v;
        else if (!strcmp(k, "--out")) o->out = v;
        else if (!strcmp(k, "--mode")) {
            if (strcmp(v, "loo") && strcmp(v, "loo-double") && strcmp(v, "gcv"))
                return bmc_err_set(err, "use loo, loo-double or gcv", "--mode %s: unknown", v);
            o->mode = v;
        }
        else if (!strcmp(k, "--grid")) {
            if (sscanf(v, "%dx%d", &o->nprow, &o->npcol) != 2)
                return bmc_err_set(err, "e.g. --grid 1x2", "bench_ridge: bad grid '%s'", v);
        } else if (!strcmp(k, "--nb")) o->nb = atoi(v);
        else if (!strcmp(k, "--alphas")) {
            if (parse_alphas(v, o) != 0)
                return bmc_err_set(err, "e.g. logspace:-2:6:17 or 0.1,1,10",
                                   "bench_ridge: bad alpha grid '%s'", v);
        } else if (!strcmp(k, "--mem-budget-mib")) o->budget_mib = atof(v);
        else if (!strcmp(k, "--dgemm-n")) o->dgemm_n = atoi(v);
        else return bmc_err_set(err, "see the usage in bench/ridge/README.md",
                                "bench_ridge: unknown option %s", k);
    }
    if (o->data == NULL || o->out == NULL)
        return bmc_err_set(err, "give --data FILE.h5 and --out FILE.h5",
                           "bench_ridge: missing --data or --out");
    return 0;
}

/* Collective over comm: the machine's aggregate dgemm rate (GFLOP/s): every rank multiplies
 * two N × N matrices at the same time (twice; the faster counts). */
static double dgemm_rate(int nsz, MPI_Comm comm) {
    size_t count = (size_t)nsz * (size_t)nsz;
    double *a = XNEW(a, count), *b = XNEW(b, count), *c = XNEW(c, count);
    for (size_t q = 0; q < count; q++) {
        a[q] = (double)(q % 7) * 0.1 - 0.3;
        b[q] = (double)(q % 5) * 0.2 - 0.4;
        c[q] = 0.0;
    }
    double one = 1.0, zero = 0.0, best = 1e300;
    for (int rep = 0; rep < 2; rep++) {
        MPI_Barrier(comm);
        double t0 = MPI_Wtime();
        dgemm_("N", "N", &nsz, &nsz, &nsz, &one, a, &nsz, b, &nsz, &zero, c, &nsz, 1, 1);
        MPI_Barrier(comm);
        double dt = MPI_Wtime() - t0;
        if (dt < best) best = dt;
    }
    int size;
    MPI_Comm_size(comm, &size);
    free(a);
    free(b);
    free(c);
    return 2.0 * (double)nsz * (double)nsz * (double)nsz * size / best / 1e9;
}

typedef struct fill_ctx {
    bmc_h5 *f;
    long row0, nrows;
} fill_ctx;

static int fill_y(void *ctx, int col0, int ncols, double *rows, bmc_err *err) {
    fill_ctx *c = ctx;
    hsize_t start[2] = {(hsize_t)c->row0, (hsize_t)col0};
    hsize_t count[2] = {(hsize_t)c->nrows, (hsize_t)ncols};
    return bmc_h5_read_block(c->f, "/Y", BMC_F64, start, count, rows, err);
}

static const char *phase_name[RIDGE_N_PHASES] = {"gram", "eig", "load", "score", "solve", "sink"};

/* Rank 0: the JSON line. flops per phase (0: not a GEMM phase). */
static void report(const opts *o, const ridge_problem *pb, const ridge_result *res, int m,
                   double fit_s, double predict_s, double dgemm, const long *rss_kib, int size) {
    double n = pb->n, p = pb->p, t = pb->t, na = pb->n_alpha;
    int dual = pb->n <= pb->p;
    double r = dual ? n : p, flops[RIDGE_N_PHASES] = {0};
    if (pb->mode != RIDGE_MODE_KFOLD) {
        flops[RIDGE_PHASE_GRAM] = dual ? n * n * p : p * p * n; /* syrk: half a GEMM */
        flops[RIDGE_PHASE_SCORE] = 2.0 * n * r * t * (pb->mode == RIDGE_MODE_LOO ? 1.0 + na : 1.0);
        flops[RIDGE_PHASE_SOLVE] = 2.0 * (dual ? n : p) * r * t;
        if (!dual) flops[RIDGE_PHASE_EIG] = 2.0 * n * p * p; /* U = Xc·V (with pdsyevd) */
    }
    printf("{\"n\": %d, \"p\": %d, \"t\": %d, \"m\": %d, \"mode\": \"%s\", \"n_alpha\": %d, "
           "\"ranks\": %d, \"grid\": \"%dx%d\", \"block_cols\": %d, \"fit_s\": %.4f, "
           "\"predict_s\": %.4f, \"dgemm_gflops\": %.2f, ",
           pb->n, pb->p, pb->t, m, o->mode, pb->n_alpha, size, pb->grid->nprow, pb->grid->npcol,
           res->block_cols, fit_s, predict_s, dgemm);
    printf("\"phases\": {");
    for (int ph = 0; ph < RIDGE_N_PHASES; ph++) {
        double s = res->phase_s[ph];
        printf("%s\"%s\": {\"s\": %.4f, \"gflops\": %.2f}", ph ? ", " : "", phase_name[ph], s,
               flops[ph] > 0 && s > 0 ? flops[ph] / s / 1e9 : 0.0);
    }
    long maxrss = 0;
    for (int q = 0; q < size; q++) maxrss = rss_kib[q] > maxrss ? rss_kib[q] : maxrss;
    printf("}, \"mem_budget\": %zu, \"solver_budget\": %zu, \"mem_peak\": %zu, "
           "\"mem_predicted\": %zu, \"maxrss\": %ld, \"maxrss_ranks\": [",
           (size_t)(o->budget_mib * 1048576.0), pb->mem_budget, res->mem_peak,
           res->mem_predicted, maxrss * 1024);
    for (int q = 0; q < size; q++) printf("%s%ld", q ? ", " : "", rss_kib[q] * 1024);
    printf("], \"zero_var_cols\": %d, \"mixed\": %d, \"rescored\": %ld}\n", res->zero_var_cols,
           res->mixed, res->rescored);
    fflush(stdout);
}

/* Collective: write /pred (row blocks) and /best_alpha (rank 0) to o->out. */
static int write_out(const opts *o, MPI_Comm comm, int rank, int m, int t, long row0,
                     long nrows, const double *pred, const double *best_alpha, bmc_err *err) {
    bmc_h5 f;
    if (bmc_h5_create(&f, comm, o->out, "bench_ridge", 1, err) != 0) return -1;
    hsize_t pd[2] = {(hsize_t)m, (hsize_t)t}, ad[1] = {(hsize_t)t};
    int rc = bmc_h5_create_dataset(&f, "/pred", BMC_F64, 2, pd, NULL, err);
    if (rc == 0) rc = bmc_h5_write_rows(&f, "/pred", BMC_F64, (hsize_t)row0, (hsize_t)nrows,
                                        pred, err);
    if (rc == 0) rc = bmc_h5_create_dataset(&f, "/best_alpha", BMC_F64, 1, ad, NULL, err);
    if (rc == 0) rc = bmc_h5_write_rows(&f, "/best_alpha", BMC_F64, 0,
                                        rank == 0 ? (hsize_t)t : 0, best_alpha, err);
    if (rc != 0) {
        bmc_h5_discard(&f);
        return -1;
    }
    return bmc_h5_commit(&f, err);
}

static int run(const opts *o, const bmc_grid *g, bmc_err *err) {
    bmc_h5 f;
    if (bmc_h5_open(&f, g->comm, o->data, NULL, 0, err) != 0) return -1;
    bmc_dtype dt;
    int nd;
    hsize_t xd[BMC_H5_MAXDIMS], yd[BMC_H5_MAXDIMS], td[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(&f, "/X", &dt, &nd, xd, err) != 0 ||
        bmc_h5_dataset_info(&f, "/Y", &dt, &nd, yd, err) != 0 ||
        bmc_h5_dataset_info(&f, "/Xt", &dt, &nd, td, err) != 0) {
        bmc_h5_close(&f);
        return -1;
    }
    int n = (int)xd[0], p = (int)xd[1], t = (int)yd[1], m = (int)td[0];
    long row0, nrows, trow0, tnrows;
    bmc_rowblock(n, g->size, g->rank, &row0, &nrows);
    bmc_rowblock(m, g->size, g->rank, &trow0, &tnrows);
    double *x = XNEW(x, (size_t)nrows * (size_t)p + 1);
    double *xt = XNEW(xt, (size_t)tnrows * (size_t)p + 1);
    double *pred = XNEW(pred, (size_t)tnrows * (size_t)t + 1);
    int rc = bmc_h5_read_rows(&f, "/X", BMC_F64, (hsize_t)row0, (hsize_t)nrows, x, err);
    if (rc == 0)
        rc = bmc_h5_read_rows(&f, "/Xt", BMC_F64, (hsize_t)trow0, (hsize_t)tnrows, xt, err);

    /* The configured budget is the whole rank's: the solver gets what the driver's own
     * arrays (X rows, test rows, predictions) leave, as bmc-train does for its inputs. */
    size_t driver = ((size_t)nrows * (size_t)p + (size_t)tnrows * ((size_t)p + (size_t)t)) *
                    sizeof(double);
    size_t budget = (size_t)(o->budget_mib * 1048576.0);
    ridge_problem pb = {
        .grid = g,
        .n = n,
        .p = p,
        .t = t,
        .n_alpha = o->n_alpha,
        .alphas = o->alphas,
        .mode = !strcmp(o->mode, "gcv") ? RIDGE_MODE_GCV : RIDGE_MODE_LOO,
        .grain = RIDGE_GRAIN_TARGET,
        .mem_budget = budget > driver ? budget - driver : 1,
        .nb = o->nb,
        /* loo: bmc-train's default (score_precision mixed); loo-double: all float64 */
        .precision =
            strcmp(o->mode, "loo-double") ? RIDGE_PRECISION_MIXED : RIDGE_PRECISION_DOUBLE,
    };
    ridge_result res;
    ridge_model model;
    fill_ctx fc = {.f = &f, .row0 = row0, .nrows = nrows};
    double fit_s = 0.0, predict_s = 0.0;
    if (rc == 0) {
        MPI_Barrier(g->comm);
        double t0 = MPI_Wtime();
        rc = ridge_fit(&pb, x, fill_y, &fc, &res, &model, err);
        fit_s = MPI_Wtime() - t0;
    }
    bmc_h5_close(&f);
    free(x);
    if (rc == 0) {
        double t0 = MPI_Wtime();
        rc = ridge_predict(&model, m, xt, pred, err);
        predict_s = MPI_Wtime() - t0;
        if (rc == 0)
            rc = write_out(o, g->comm, g->rank, m, t, trow0, tnrows, pred, res.best_alpha, err);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        long mine = ru.ru_maxrss, *all = XNEW(all, (size_t)g->size);
        MPI_Gather(&mine, 1, MPI_LONG, all, 1, MPI_LONG, 0, g->comm);
        /* after maxrss was read, so that its matrices do not count */
        double dgemm = rc == 0 ? dgemm_rate(o->dgemm_n, g->comm) : 0.0;
        if (rc == 0 && g->rank == 0)
            report(o, &pb, &res, m, fit_s, predict_s, dgemm, all, g->size);
        free(all);
        ridge_result_free(&res);
        ridge_model_free(&model);
    }
    free(xt);
    free(pred);
    return rc;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    bmc_err err = {0};
    opts o;
    bmc_grid g;
    int rc = parse_args(argc, argv, &o, &err);
    if (bmc_err_agree(MPI_COMM_WORLD, &err) == 0 &&
        bmc_grid_init(&g, MPI_COMM_WORLD, o.nprow, o.npcol, &err) == 0) {
        rc = run(&o, &g, &err);
        bmc_grid_free(&g);
    }
    if (err.failed) {
        bmc_err_print(MPI_COMM_WORLD, &err);
        rc = 1;
    }
    MPI_Finalize();
    return rc != 0 ? 1 : 0;
}
