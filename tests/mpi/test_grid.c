/* test_grid.c — bmc_grid on 1, 2 or 4 ranks: grids, redistribution, row-block matrices,
 * pdgemm and bmc_distmat_gemm, bad shapes.
 *
 * For every grid shape that fits the rank count (and for the automatic one): the contexts
 * map ranks as documented (2-D row-major; size × 1 with row r = rank r, also on a communicator
 * whose ranks are reversed with respect to MPI_COMM_WORLD); row blocks filled from a formula
 * land on the right 2-D elements and come back bitwise; the row-block matrix (bmc_rowblock_*)
 * holds the documented rows, its C-order transposes round-trip a column window bitwise
 * without touching the other columns, its row-range moves to 2-D matrices (a held-out fold
 * cut out and the rest closed up) put every element in place, and back from 2-D comes back
 * bitwise; its column means skipping a fold match a serial sum; pdgemm and bmc_distmat_gemm
 * (every transpose; dgemm on one process) on redistributed matrices match a serial OpenBLAS
 * product (HPL-style scaled residual, PASSED/FAILED); a grid shape that does not fit fails
 * with the same agreed error on every rank.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_scalapack.h"
#include "bmc_test.h"

/* Deterministic matrix entries, distinct per (i, j) and per matrix `which`. */
static double formula(int which, long i, long j) {
    return (double)(which + 1) * 1000.0 + (double)i * 7.25 - (double)j * 0.5 +
           1.0 / (double)(1 + (i * 13 + j * 7 + which) % 17);
}

/* This rank's row block of an m × n formula matrix, row-major (NULL-free even when empty). */
static double *formula_rows(const bmc_grid *g, int which, int m, int n, long *nrows_out) {
    long row0, nrows;
    bmc_rowblock(m, g->size, g->rank, &row0, &nrows);
    double *rows = XNEW(rows, bmc_mul_size((size_t)nrows, (size_t)n));
    for (long i = 0; i < nrows; i++)
        for (long j = 0; j < n; j++) rows[i * n + j] = formula(which, row0 + i, j);
    *nrows_out = nrows;
    return rows;
}

/* Whether grid process number p (= row·npcol + col, BLACS' numbering) of context ctxt is
 * rank p of comm, for every p: translated through the context's own MPI communicator. */
static int context_maps_comm(int ctxt, MPI_Comm comm) {
    int handle;
    Cblacs_get(ctxt, BMC_BLACS_GET_CONTEXT_COMM, &handle);
    MPI_Comm ctxt_comm = Cblacs2sys_handle(handle);
    int size;
    MPI_Comm_size(ctxt_comm, &size);
    MPI_Group from, to;
    MPI_Comm_group(ctxt_comm, &from);
    MPI_Comm_group(comm, &to);
    int *grid_ranks = XNEW(grid_ranks, (size_t)size), *comm_ranks = XNEW(comm_ranks, (size_t)size);
    for (int p = 0; p < size; p++) grid_ranks[p] = p;
    MPI_Group_translate_ranks(from, size, grid_ranks, to, comm_ranks);
    int ok = 1;
    for (int p = 0; p < size; p++) ok &= comm_ranks[p] == p;
    free(grid_ranks);
    free(comm_ranks);
    MPI_Group_free(&from);
    MPI_Group_free(&to);
    Cfree_blacs_system_handle(handle);
    return ok;
}

/* Context checks: the 2-D grid is row-major over comm, the size × 1 grid has row r = rank r. */
static void check_contexts(const bmc_grid *g, MPI_Comm comm, int nprow, int npcol) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    TEST_CHECK(g->rank == rank && g->size == size, "rank/size %d/%d vs %d/%d", g->rank,
               g->size, rank, size);
    TEST_CHECK(g->nprow == nprow && g->npcol == npcol, "grid %dx%d, want %dx%d", g->nprow,
               g->npcol, nprow, npcol);
    int r, c, myrow, mycol;
    Cblacs_gridinfo(g->ctxt, &r, &c, &myrow, &mycol);
    TEST_CHECK(r == nprow && c == npcol && myrow == rank / npcol && mycol == rank % npcol,
               "2-D context on rank %d: %dx%d at (%d,%d)", rank, r, c, myrow, mycol);
    TEST_CHECK(g->myrow == myrow && g->mycol == mycol, "struct (%d,%d) vs BLACS (%d,%d)",
               g->myrow, g->mycol, myrow, mycol);
    Cblacs_gridinfo(g->ctxt_rows, &r, &c, &myrow, &mycol);
    TEST_CHECK(r == size && c == 1 && myrow == rank && mycol == 0,
               "rows context on rank %d: %dx%d at (%d,%d)", rank, r, c, myrow, mycol);
    TEST_CHECK(context_maps_comm(g->ctxt, comm), "2-D context: grid ranks are not comm ranks");
    TEST_CHECK(context_maps_comm(g->ctxt_rows, comm),
               "rows context: process row r is not rank r of comm");
}

typedef struct shape {
    int m, n, mb, nb;
} shape;

/* Redistribute an m × n formula matrix to mb × nb blocks, check every local element, and
 * check that the way back gives the row block bitwise. */
static void check_redistribution(const bmc_grid *g, shape s) {
    long nrows;
    double *rows = formula_rows(g, 0, s.m, s.n, &nrows);
    bmc_distmat a;
    bmc_distmat_init(&a, g, s.m, s.n, s.mb, s.nb);
    int zero = 0;
    TEST_CHECK(a.mloc == numroc_(&s.m, &s.mb, &g->myrow, &zero, &g->nprow) &&
                   a.nloc == numroc_(&s.n, &s.nb, &g->mycol, &zero, &g->npcol) &&
                   a.lld >= 1 && a.lld >= a.mloc,
               "local shape %dx%d lld %d", a.mloc, a.nloc, a.lld);
    bmc_distmat_from_rowblock(&a, rows);

    long bad = 0;
    char first[160] = "";
    for (int lj = 0; lj < a.nloc; lj++)
        for (int li = 0; li < a.mloc; li++) {
            int gi = bmc_l2g(li, s.mb, g->myrow, g->nprow);
            int gj = bmc_l2g(lj, s.nb, g->mycol, g->npcol);
            double got = a.data[(size_t)li + (size_t)lj * (size_t)a.lld];
            if (bmc_distmat_row(&a, li) != gi || bmc_distmat_col(&a, lj) != gj) {
                if (bad++ == 0)
                    snprintf(first, sizeof first, "local (%d,%d): row/col helpers give (%d,%d), "
                             "bmc_l2g (%d,%d)", li, lj, bmc_distmat_row(&a, li),
                             bmc_distmat_col(&a, lj), gi, gj);
            } else if (got != formula(0, gi, gj) && bad++ == 0)
                snprintf(first, sizeof first, "A(%d,%d) = %g, want %g", gi, gj, got,
                         formula(0, gi, gj));
        }
    TEST_CHECK(bad == 0,
               "grid %dx%d rank %d, %dx%d blocks %dx%d: %ld wrong elements; first %s",
               g->nprow, g->npcol, g->rank, s.m, s.n, s.mb, s.nb, bad, first);

    size_t count = bmc_mul_size((size_t)nrows, (size_t)s.n);
    double *back = XNEW(back, count);
    for (size_t k = 0; k < count; k++) back[k] = -12345.0;
    bmc_distmat_to_rowblock(&a, back);
    TEST_CHECK(count == 0 || memcmp(back, rows, count * sizeof *back) == 0,
               "grid %dx%d rank %d, %dx%d blocks %dx%d: round trip differs", g->nprow,
               g->npcol, g->rank, s.m, s.n, s.mb, s.nb);
    free(back);
    bmc_distmat_free(&a);
    free(rows);
}

/* Infinity norm of a row-major m × n matrix. */
static double norm_inf(const double *a, int m, int n) {
    double best = 0.0;
    for (long i = 0; i < m; i++) {
        double sum = 0.0;
        for (long j = 0; j < n; j++) sum += fabs(a[i * n + j]);
        if (sum > best) best = sum;
    }
    return best;
}

/* Collective: the max over ranks of ‖rows − full(this rank's rows)‖∞, with rows this rank's
 * row block of an m × n matrix and full all of it (both row-major); a NaN sticks. */
static double rowblock_diff_inf(const bmc_grid *g, const double *rows, const double *full, int m,
                                int n) {
    long row0, nrows;
    bmc_rowblock(m, g->size, g->rank, &row0, &nrows);
    double local = 0.0, diff = 0.0;
    for (long i = 0; i < nrows; i++) {
        double sum = 0.0;
        for (long j = 0; j < n; j++) sum += fabs(rows[i * n + j] - full[(row0 + i) * n + j]);
        if (!(sum <= local)) local = sum;
    }
    MPI_Allreduce(&local, &diff, 1, MPI_DOUBLE, MPI_MAX, g->comm);
    return diff;
}

/* C = A·B (A m × k, B k × n) with pdgemm on redistributed matrices, against cblas_dgemm on
 * the whole matrices (every rank computes the reference). Also checks pdlange("I") of A. */
static void check_pdgemm(const bmc_grid *g, int m, int n, int k, int mb, int nb, int kb) {
    long ra, rb;
    double *rows_a = formula_rows(g, 1, m, k, &ra);
    double *rows_b = formula_rows(g, 2, k, n, &rb);
    bmc_distmat a, b, c;
    bmc_distmat_init(&a, g, m, k, mb, kb);
    bmc_distmat_init(&b, g, k, n, kb, nb);
    bmc_distmat_init(&c, g, m, n, mb, nb);
    bmc_distmat_from_rowblock(&a, rows_a);
    bmc_distmat_from_rowblock(&b, rows_b);
    for (size_t q = 0; q < (size_t)c.lld * (size_t)c.nloc; q++) c.data[q] = 99.0; /* beta=0 */
    double one = 1.0, zero = 0.0;
    int ione = 1;
    pdgemm_("N", "N", &m, &n, &k, &one, a.data, &ione, &ione, a.desc, b.data, &ione, &ione,
            b.desc, &zero, c.data, &ione, &ione, c.desc, 1, 1);

    /* Serial reference on every rank. */
    double *full_a = XNEW(full_a, bmc_mul_size((size_t)m, (size_t)k));
    double *full_b = XNEW(full_b, bmc_mul_size((size_t)k, (size_t)n));
    double *full_c = XNEW(full_c, bmc_mul_size((size_t)m, (size_t)n));
    for (long i = 0; i < m; i++)
        for (long j = 0; j < k; j++) full_a[i * k + j] = formula(1, i, j);
    for (long i = 0; i < k; i++)
        for (long j = 0; j < n; j++) full_b[i * n + j] = formula(2, i, j);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, full_a, k, full_b, n,
                0.0, full_c, n);

    /* pdlange "I" needs Mp0 doubles of work; the norm is valid on every process. */
    double *work = XNEW(work, (size_t)(a.mloc > 0 ? a.mloc : 1));
    double dist_norm_a = pdlange_("I", &m, &k, a.data, &ione, &ione, a.desc, work, 1);
    free(work);
    double norm_a = norm_inf(full_a, m, k), norm_b = norm_inf(full_b, k, n);
    TEST_NEAR(dist_norm_a, norm_a, 1e-12 * norm_a);

    double *rows_c = XNEW(rows_c, bmc_mul_size((size_t)(m > 0 ? m : 1), (size_t)n));
    bmc_distmat_to_rowblock(&c, rows_c);
    double diff = rowblock_diff_inf(g, rows_c, full_c, m, n);
    double resid = diff / (norm_a * norm_b * (double)k * DBL_EPSILON);
    int passed = resid < 16.0; /* HPL's threshold; false for NaN */
    if (g->rank == 0)
        printf("pdgemm %dx%dx%d blocks %d/%d/%d grid %dx%d: ||C-Cref||/(||A|| ||B|| k eps) = "
               "%.3g ... %s\n",
               m, n, k, mb, nb, kb, g->nprow, g->npcol, resid, passed ? "PASSED" : "FAILED");
    TEST_CHECK(passed, "pdgemm scaled residual %g", resid);

    free(rows_c);
    free(full_a);
    free(full_b);
    free(full_c);
    bmc_distmat_free(&a);
    bmc_distmat_free(&b);
    bmc_distmat_free(&c);
    free(rows_a);
    free(rows_b);
}

/* Every local element of the 2-D matrix a equals formula(which, src_row(global row), j). */
static long count_wrong_2d(const bmc_distmat *a, int which, int f0, int f1, int test_part,
                           char *first, size_t first_size) {
    long bad = 0;
    for (int lj = 0; lj < a->nloc; lj++)
        for (int li = 0; li < a->mloc; li++) {
            int gi = bmc_distmat_row(a, li), gj = bmc_distmat_col(a, lj);
            /* training part: rows before the fold, then the rows after it closed up */
            long src = test_part ? f0 + gi : gi < f0 ? gi : gi + (f1 - f0);
            double got = a->data[(size_t)li + (size_t)lj * (size_t)a->lld];
            if (got != formula(which, src, gj) && bad++ == 0)
                snprintf(first, first_size, "%s (%d,%d) = %g, want source row %ld: %g",
                         test_part ? "test" : "train", gi, gj, got, src, formula(which, src, gj));
        }
    return bad;
}

/* The row-block matrix of an m × n formula matrix: its rows and descriptor, the C-order
 * transposes on a column window of wider rows, the fold split into two 2-D matrices, the
 * way back from 2-D, and the column means outside the fold. */
static void check_rowblock(const bmc_grid *g, shape s) {
    bmc_rowblock_mat rb;
    bmc_rowblock_init(&rb, g, s.m, s.n);
    long row0, nrows;
    bmc_rowblock(s.m, g->size, g->rank, &row0, &nrows);
    TEST_CHECK(rb.grid == g && rb.m == s.m && rb.n == s.n && rb.row0 == row0 &&
                   rb.nrows == nrows && rb.ld == (nrows > 1 ? (int)nrows : 1) &&
                   bmc_rowblock_bytes(&rb) == (size_t)rb.ld * (size_t)s.n * sizeof(double),
               "rank %d %dx%d: rows [%ld, +%ld) ld %d, want [%ld, +%ld)", g->rank, s.m, s.n,
               rb.row0, rb.nrows, rb.ld, row0, nrows);
    TEST_CHECK(rb.desc[BMC_DESC_CTXT] == g->ctxt_rows && rb.desc[BMC_DESC_M] == s.m &&
                   rb.desc[BMC_DESC_N] == s.n &&
                   rb.desc[BMC_DESC_MB] == (int)bmc_rowblock_size(s.m, g->size) &&
                   rb.desc[BMC_DESC_NB] == (s.n > 1 ? s.n : 1) && rb.desc[BMC_DESC_LLD] == rb.ld,
               "rank %d %dx%d: descriptor ctxt %d m %d n %d mb %d nb %d lld %d", g->rank, s.m,
               s.n, rb.desc[BMC_DESC_CTXT], rb.desc[BMC_DESC_M], rb.desc[BMC_DESC_N],
               rb.desc[BMC_DESC_MB], rb.desc[BMC_DESC_NB], rb.desc[BMC_DESC_LLD]);
    size_t local = (size_t)rb.ld * (size_t)s.n;
    long zeros = 0;
    for (size_t q = 0; q < local; q++) zeros += rb.data[q] == 0.0;
    TEST_CHECK(zeros == (long)local, "rank %d: %ld of %zu initial elements are zero", g->rank,
               zeros, local);

    /* A column window [col0, col0 + n) of C-order rows `wide` columns wide. */
    const int col0 = 2, wide = s.n + 5;
    size_t count = (size_t)(nrows > 0 ? nrows : 1) * (size_t)wide;
    double *rows = XNEW(rows, count), *back = XNEW(back, count);
    for (long i = 0; i < nrows; i++)
        for (int j = 0; j < wide; j++)
            rows[i * wide + j] = j >= col0 && j < col0 + s.n ? formula(0, row0 + i, j - col0)
                                                             : -7.0 - (double)j;
    bmc_rowblock_from_c(&rb, rows, wide, col0);
    long bad = 0;
    for (long i = 0; i < nrows; i++)
        for (int j = 0; j < s.n; j++)
            bad += rb.data[(size_t)i + (size_t)j * (size_t)rb.ld] != formula(0, row0 + i, j);
    TEST_CHECK(bad == 0, "rank %d %dx%d: from_c: %ld wrong elements", g->rank, s.m, s.n, bad);
    for (long i = 0; i < nrows; i++)
        for (int j = 0; j < wide; j++)
            back[i * wide + j] = j >= col0 && j < col0 + s.n ? 12345.0 : -7.0 - (double)j;
    bmc_rowblock_to_c(back, wide, col0, &rb);
    TEST_CHECK(nrows == 0 || memcmp(back, rows, (size_t)nrows * (size_t)wide * sizeof *rows) == 0,
               "rank %d %dx%d: to_c(from_c(rows)) differs (or touched other columns)", g->rank,
               s.m, s.n);

    /* The fold [f0, f1) cut out: train = the other rows closed up, test = the fold. */
    int f0 = s.m / 3, f1 = 2 * s.m / 3;
    char first[200] = "";
    bmc_distmat train, test, whole;
    bmc_distmat_init(&train, g, s.m - (f1 - f0), s.n, s.mb, s.nb);
    bmc_rowblock_to_distmat(&train, 0, &rb, 0, f0);
    bmc_rowblock_to_distmat(&train, f0, &rb, f1, s.m);
    bad = count_wrong_2d(&train, 0, f0, f1, 0, first, sizeof first);
    if (f1 > f0) {
        bmc_distmat_init(&test, g, f1 - f0, s.n, s.mb, s.nb);
        bmc_rowblock_to_distmat(&test, 0, &rb, f0, f1);
        bad += count_wrong_2d(&test, 0, f0, f1, 1, first + strlen(first),
                              sizeof first - strlen(first));
        bmc_distmat_free(&test);
    }
    TEST_CHECK(bad == 0, "grid %dx%d rank %d %dx%d fold [%d, %d): %ld wrong; first %s",
               g->nprow, g->npcol, g->rank, s.m, s.n, f0, f1, bad, first);
    bmc_distmat_free(&train);

    /* 2-D → row block: bitwise the same local array. */
    bmc_distmat_init(&whole, g, s.m, s.n, s.mb, s.nb);
    bmc_rowblock_to_distmat(&whole, 0, &rb, 0, s.m);
    bmc_rowblock_mat rb2;
    bmc_rowblock_init(&rb2, g, s.m, s.n);
    bmc_rowblock_from_distmat(&rb2, &whole);
    TEST_CHECK(memcmp(rb2.data, rb.data, local * sizeof(double)) == 0,
               "grid %dx%d rank %d %dx%d blocks %dx%d: row block -> 2-D -> row block differs",
               g->nprow, g->npcol, g->rank, s.m, s.n, s.mb, s.nb);
    bmc_rowblock_free(&rb2);
    bmc_distmat_free(&whole);

    /* Column means outside the fold, against a serial sum (when a row remains). */
    if (s.m - (f1 - f0) >= 1) {
        double *mean = XNEW(mean, (size_t)s.n);
        bmc_rowblock_col_means(mean, &rb, f0, f1);
        for (int j = 0; j < s.n; j++) {
            double sum = 0.0;
            for (long i = 0; i < s.m; i++)
                if (i < f0 || i >= f1) sum += formula(0, i, j);
            double want = sum / (double)(s.m - (f1 - f0));
            TEST_NEAR(mean[j], want, 1e-13 * fabs(want));
        }
        free(mean);
    }
    free(back);
    free(rows);
    bmc_rowblock_free(&rb);
    TEST_CHECK(rb.data == NULL, "data still set after free");
}

/* C = alpha·op(A)·op(B) + beta·C through bmc_distmat_gemm (A, B, C redistributed from
 * formula row blocks, block size nb), against cblas_dgemm on the whole matrices. */
static void check_distmat_gemm(const bmc_grid *g, const char *ta, const char *tb, int m, int n,
                               int k, int nb) {
    int tra = ta[0] == 'T', trb = tb[0] == 'T';
    int am = tra ? k : m, an = tra ? m : k, bm = trb ? n : k, bn = trb ? k : n;
    long ra, rbn, rc;
    double *rows_a = formula_rows(g, 4, am, an, &ra), *rows_b = formula_rows(g, 5, bm, bn, &rbn);
    double *rows_c = formula_rows(g, 6, m, n, &rc);
    bmc_distmat a, b, c;
    bmc_distmat_init(&a, g, am, an, nb, nb);
    bmc_distmat_init(&b, g, bm, bn, nb, nb);
    bmc_distmat_init(&c, g, m, n, nb, nb);
    bmc_distmat_from_rowblock(&a, rows_a);
    bmc_distmat_from_rowblock(&b, rows_b);
    bmc_distmat_from_rowblock(&c, rows_c);
    const double alpha = -1.5, beta = 0.5;
    bmc_distmat_gemm(ta, tb, alpha, &a, &b, beta, &c);

    double *full_a = XNEW(full_a, (size_t)am * (size_t)an);
    double *full_b = XNEW(full_b, (size_t)bm * (size_t)bn);
    double *full_c = XNEW(full_c, (size_t)m * (size_t)n);
    for (long i = 0; i < am; i++)
        for (long j = 0; j < an; j++) full_a[i * an + j] = formula(4, i, j);
    for (long i = 0; i < bm; i++)
        for (long j = 0; j < bn; j++) full_b[i * bn + j] = formula(5, i, j);
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) full_c[i * n + j] = formula(6, i, j);
    double norm_c = norm_inf(full_c, m, n);
    cblas_dgemm(CblasRowMajor, tra ? CblasTrans : CblasNoTrans, trb ? CblasTrans : CblasNoTrans,
                m, n, k, alpha, full_a, an, full_b, bn, beta, full_c, n);
    double *got = XNEW(got, (size_t)(rc > 0 ? rc : 1) * (size_t)n);
    bmc_distmat_to_rowblock(&c, got);
    double diff = rowblock_diff_inf(g, got, full_c, m, n);
    double scale = fabs(alpha) * norm_inf(full_a, am, an) * norm_inf(full_b, bm, bn) +
                   fabs(beta) * norm_c;
    double resid = diff / (scale * (double)(k + 1) * DBL_EPSILON);
    int passed = resid < 16.0;
    if (g->rank == 0)
        printf("bmc_distmat_gemm %s%s %dx%dx%d nb %d grid %dx%d: scaled residual %.3g ... %s\n",
               ta, tb, m, n, k, nb, g->nprow, g->npcol, resid, passed ? "PASSED" : "FAILED");
    TEST_CHECK(passed, "bmc_distmat_gemm %s%s scaled residual %g", ta, tb, resid);
    free(got);
    free(full_a);
    free(full_b);
    free(full_c);
    bmc_distmat_free(&a);
    bmc_distmat_free(&b);
    bmc_distmat_free(&c);
    free(rows_a);
    free(rows_b);
    free(rows_c);
}

static const shape SHAPES[] = {
    {1, 1, 1, 1},  /* smallest                                     */
    {3, 1, 2, 1},  /* m < P at 4 ranks, n = 1                      */
    {7, 5, 2, 3},  /* nothing divides                              */
    {10, 3, 4, 2}, /* rows: last rank short                        */
    {13, 11, 3, 5},
    {2, 9, 1, 4},  /* m < P                                        */
    {5, 5, 8, 8},  /* block larger than the matrix                 */
    {17, 1, 3, 1}, /* column vector                                */
    {1, 12, 1, 5}, /* row vector                                   */
    {64, 40, 8, 8},
    {60, 25, 30, 30}, /* block = the row-block layout's block (2 ranks)   */
    {60, 25, 64, 64}, /* one block holds everything                   */
    {60, 20, 40, 40},
};

/* Everything that works on one grid shape of comm. */
static void check_grid(MPI_Comm comm, int nprow, int npcol, int gemm) {
    bmc_grid g;
    bmc_err err = {0};
    int rc = bmc_grid_init(&g, comm, nprow, npcol, &err);
    TEST_CHECK(rc == 0 && !err.failed, "grid %dx%d: rc %d: %s", nprow, npcol, rc, err.msg);
    if (rc != 0) return;
    if (nprow == 0) { /* automatic: squarest with nprow <= npcol */
        int size = g.size, want = 1;
        for (int d = 1; d * d <= size; d++)
            if (size % d == 0) want = d;
        nprow = want;
        npcol = size / want;
    }
    check_contexts(&g, comm, nprow, npcol);
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        check_redistribution(&g, SHAPES[i]);
        check_rowblock(&g, SHAPES[i]);
    }
    if (gemm) {
        check_distmat_gemm(&g, "N", "N", 9, 7, 11, 2);
        check_distmat_gemm(&g, "T", "N", 12, 5, 8, 3);
        check_distmat_gemm(&g, "N", "T", 6, 13, 10, 2);
        check_distmat_gemm(&g, "T", "T", 1, 4, 3, 1);
        check_pdgemm(&g, 1, 1, 1, 1, 1, 1);
        check_pdgemm(&g, 7, 5, 6, 2, 2, 2);
        check_pdgemm(&g, 13, 4, 9, 3, 2, 4); /* different block sizes per dimension */
        check_pdgemm(&g, 3, 1, 10, 2, 1, 3); /* m < P, n = 1 */
        check_pdgemm(&g, 50, 37, 41, 8, 8, 8);
    }
    bmc_grid_free(&g);
    TEST_CHECK(g.ctxt < 0 && g.ctxt_rows < 0, "contexts still set after free");
}

/* A shape that does not fit must fail on every rank with the same message. */
static void check_bad_shape(MPI_Comm comm, int nprow, int npcol) {
    bmc_grid g;
    bmc_err err = {0};
    int rc = bmc_grid_init(&g, comm, nprow, npcol, &err);
    TEST_CHECK(rc == -1 && err.failed, "grid %dx%d accepted", nprow, npcol);
    TEST_CHECK(strstr(err.msg, "process grid") != NULL && err.hint[0] != '\0',
               "message '%s' hint '%s'", err.msg, err.hint);
    /* Same message on every rank: compare with rank 0's. */
    char msg0[BMC_ERR_MSG_MAX];
    memcpy(msg0, err.msg, sizeof msg0);
    MPI_Bcast(msg0, (int)sizeof msg0, MPI_CHAR, 0, comm);
    TEST_CHECK(strcmp(msg0, err.msg) == 0, "rank message '%s' vs rank 0 '%s'", err.msg, msg0);
    bmc_grid_free(&g); /* a failed grid holds nothing; freeing it is harmless */
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    for (int nprow = 1; nprow <= size; nprow++)
        if (size % nprow == 0) check_grid(MPI_COMM_WORLD, nprow, size / nprow, 1);
    check_grid(MPI_COMM_WORLD, 0, 0, 0);

    /* A communicator whose rank order is the reverse of MPI_COMM_WORLD's: the grids must
     * follow its ranks, not the world's. */
    MPI_Comm reversed;
    MPI_Comm_split(MPI_COMM_WORLD, 0, size - 1 - rank, &reversed);
    int rrank;
    MPI_Comm_rank(reversed, &rrank);
    TEST_CHECK(rrank == size - 1 - rank, "reversed rank %d", rrank);
    check_grid(reversed, 1, size, 0);
    check_grid(reversed, size, 1, 1);
    MPI_Comm_free(&reversed);

    check_bad_shape(MPI_COMM_WORLD, size + 1, 1);
    check_bad_shape(MPI_COMM_WORLD, 2, size);
    check_bad_shape(MPI_COMM_WORLD, 0, size);
    check_bad_shape(MPI_COMM_WORLD, -1, -size);
    /* After failures a good grid still works. */
    check_grid(MPI_COMM_WORLD, 1, size, 0);

    int status = test_summary_mpi(MPI_COMM_WORLD);
    Cblacs_exit(1); /* release BLACS' buffers; MPI stays up */
    MPI_Finalize();
    return status;
}
