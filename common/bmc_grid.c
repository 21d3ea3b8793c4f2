/* bmc_grid.c — BLACS process grids, block-cyclic index arithmetic and the row-block ↔
 * 2-D block-cyclic redistribution (see bmc_grid.h for the contract).
 *
 * The index helpers are pure C (0-based) and match ScaLAPACK's numroc/indxl2g/indxg2l/indxg2p.
 * Redistribution goes through pdgemr2d between a descriptor in the size × 1 context (the
 * row-block layout, transposed locally between C row-major and column-major) and the 2-D one.
 * Not here: the solvers (stages/train), reading the row blocks from HDF5 (bmc_h5io.c).
 */
#include "bmc_grid.h"

#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_scalapack.h"

/* ---- grid ------------------------------------------------------------------------------ */

/* Squarest factorisation size = r × c with r ≤ c. */
static void squarest_shape(int size, int *nprow, int *npcol) {
    int r = 1;
    for (int d = 1; (long)d * d <= size; d++)
        if (size % d == 0) r = d;
    *nprow = r;
    *npcol = size / r;
}

/* Mark a grid as holding no contexts (bmc_grid_free is then a no-op). */
static void grid_clear(bmc_grid *g, MPI_Comm comm, int rank, int size) {
    memset(g, 0, sizeof *g);
    g->comm = comm;
    g->rank = rank;
    g->size = size;
    g->ctxt = -1;
    g->ctxt_rows = -1;
    g->myrow = g->mycol = -1;
}

int bmc_grid_init(bmc_grid *g, MPI_Comm comm, int nprow, int npcol, bmc_err *err) {
    BMC_CHECK(g != NULL && err != NULL && comm != MPI_COMM_NULL);
    int rank, size;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    BMC_MPI(MPI_Comm_size(comm, &size));
    grid_clear(g, comm, rank, size);

    if (nprow == 0 && npcol == 0) {
        squarest_shape(size, &nprow, &npcol);
    } else if (nprow <= 0 || npcol <= 0 || (long)nprow * npcol != size) {
        bmc_err_set(err,
                    "give nprow and npcol with nprow x npcol equal to the number of MPI "
                    "ranks (e.g. mpiexec -n 4 with a 2 x 2 grid), or 0 x 0 to pick the "
                    "squarest grid automatically",
                    "process grid %d x %d does not fit the %d MPI rank%s of the job", nprow,
                    npcol, size, size == 1 ? "" : "s");
    }
    if (bmc_err_agree(comm, err)) return -1;

    int mypnum, nprocs;
    Cblacs_pinfo(&mypnum, &nprocs); /* initialises BLACS' view of MPI on first use */
    int handle = Csys2blacs_handle(comm);

    int ctxt = handle;
    Cblacs_gridinit(&ctxt, "Row", nprow, npcol);
    int ctxt_rows = handle;
    Cblacs_gridinit(&ctxt_rows, "Row", size, 1);
    /* Cblacs_gridinit made its own communicators (MPI_Comm_create on comm): the system
     * handle is no longer needed and would otherwise stay in BLACS' table. */
    Cfree_blacs_system_handle(handle);
    BMC_CHECK(ctxt >= 0 && ctxt_rows >= 0);

    g->ctxt = ctxt;
    g->ctxt_rows = ctxt_rows;
    int r, c;
    Cblacs_gridinfo(ctxt, &r, &c, &g->myrow, &g->mycol);
    BMC_CHECK(r == nprow && c == npcol);
    g->nprow = nprow;
    g->npcol = npcol;
    /* Row-major ordering: rank = myrow·npcol + mycol. */
    BMC_CHECK(g->myrow * npcol + g->mycol == rank);
    int rr, rc, rmyrow, rmycol;
    Cblacs_gridinfo(ctxt_rows, &rr, &rc, &rmyrow, &rmycol);
    BMC_CHECK(rr == size && rc == 1 && rmyrow == rank && rmycol == 0);
    return 0;
}

void bmc_grid_free(bmc_grid *g) {
    if (g == NULL) return;
    if (g->ctxt >= 0) Cblacs_gridexit(g->ctxt);
    if (g->ctxt_rows >= 0) Cblacs_gridexit(g->ctxt_rows);
    g->ctxt = -1;
    g->ctxt_rows = -1;
}

/* ---- index helpers ----------------------------------------------------------------------- */

int bmc_numroc(int n, int nb, int iproc, int isrcproc, int nprocs) {
    BMC_CHECK(n >= 0 && nb >= 1 && nprocs >= 1);
    BMC_CHECK(iproc >= 0 && iproc < nprocs && isrcproc >= 0 && isrcproc < nprocs);
    int dist = (iproc - isrcproc + nprocs) % nprocs; /* distance from the source process */
    int nblocks = n / nb;                           /* whole blocks                      */
    int count = (nblocks / nprocs) * nb;            /* full rounds of the cycle          */
    int extra = nblocks % nprocs;                   /* whole blocks left after the rounds */
    if (dist < extra)
        count += nb;
    else if (dist == extra)
        count += n % nb; /* the last, partial block */
    return count;
}

int bmc_l2g(int l, int nb, int iproc, int nprocs) {
    BMC_CHECK(l >= 0 && nb >= 1 && nprocs >= 1 && iproc >= 0 && iproc < nprocs);
    long g = ((long)(l / nb) * nprocs + iproc) * nb + l % nb;
    BMC_CHECK(g <= 2147483647L);
    return (int)g;
}

int bmc_g2l(int g, int nb, int nprocs) {
    BMC_CHECK(g >= 0 && nb >= 1 && nprocs >= 1);
    return (g / nb / nprocs) * nb + g % nb;
}

int bmc_g2p(int g, int nb, int nprocs) {
    BMC_CHECK(g >= 0 && nb >= 1 && nprocs >= 1);
    return (g / nb) % nprocs;
}

long bmc_rowblock_size(long n, int nprocs) {
    BMC_CHECK(n >= 0 && nprocs >= 1);
    long block = (n + nprocs - 1) / nprocs;
    return block > 0 ? block : 1;
}

void bmc_rowblock(long n, int nprocs, int rank, long *row0, long *nrows) {
    BMC_CHECK(rank >= 0 && rank < nprocs && row0 != NULL && nrows != NULL);
    long block = bmc_rowblock_size(n, nprocs);
    long first = (long)rank * block, last = first + block;
    if (first > n) first = n;
    if (last > n) last = n;
    *row0 = first;
    *nrows = last - first;
}

/* ---- distributed matrix ------------------------------------------------------------------ */

static int max_int(int a, int b) { return a > b ? a : b; }

/* Fill desc through descinit_ (0-based source process 0); internal error on bad input. */
static void make_desc(int desc[9], int m, int n, int mb, int nb, int ctxt, int lld) {
    int zero = 0, info = 0;
    descinit_(desc, &m, &n, &mb, &nb, &zero, &zero, &ctxt, &lld, &info);
    if (info != 0)
        BMC_BUG("descinit failed (info %d) for a %d x %d matrix, blocks %d x %d, lld %d", info,
                m, n, mb, nb, lld);
}

void bmc_distmat_init(bmc_distmat *a, const bmc_grid *g, int m, int n, int mb, int nb) {
    BMC_CHECK(a != NULL && g != NULL && g->ctxt >= 0);
    BMC_CHECK(m >= 0 && n >= 0 && mb >= 1 && nb >= 1);
    memset(a, 0, sizeof *a);
    a->grid = g;
    a->m = m;
    a->n = n;
    a->mb = mb;
    a->nb = nb;
    a->mloc = bmc_numroc(m, mb, g->myrow, 0, g->nprow);
    a->nloc = bmc_numroc(n, nb, g->mycol, 0, g->npcol);
    a->lld = max_int(1, a->mloc);
    make_desc(a->desc, m, n, mb, nb, g->ctxt, a->lld);
    a->data = xcalloc(bmc_mul_size((size_t)a->lld, (size_t)a->nloc), sizeof *a->data);
}

void bmc_distmat_free(bmc_distmat *a) {
    if (a == NULL) return;
    free(a->data);
    a->data = NULL;
}

/* Tile edge of the cache-blocked transposes. */
enum { TRANSPOSE_TILE = 32 };

/* dst (column-major, leading dimension ld) := src (nrows × ncols, row-major). */
static void rowmajor_to_colmajor(const double *src, long nrows, long ncols, double *dst,
                                 long ld) {
    for (long i0 = 0; i0 < nrows; i0 += TRANSPOSE_TILE)
        for (long j0 = 0; j0 < ncols; j0 += TRANSPOSE_TILE) {
            long i1 = i0 + TRANSPOSE_TILE < nrows ? i0 + TRANSPOSE_TILE : nrows;
            long j1 = j0 + TRANSPOSE_TILE < ncols ? j0 + TRANSPOSE_TILE : ncols;
            for (long j = j0; j < j1; j++)
                for (long i = i0; i < i1; i++) dst[i + j * ld] = src[i * ncols + j];
        }
}

/* dst (nrows × ncols, row-major) := src (column-major, leading dimension ld). */
static void colmajor_to_rowmajor(const double *src, long ld, long nrows, long ncols,
                                 double *dst) {
    for (long i0 = 0; i0 < nrows; i0 += TRANSPOSE_TILE)
        for (long j0 = 0; j0 < ncols; j0 += TRANSPOSE_TILE) {
            long i1 = i0 + TRANSPOSE_TILE < nrows ? i0 + TRANSPOSE_TILE : nrows;
            long j1 = j0 + TRANSPOSE_TILE < ncols ? j0 + TRANSPOSE_TILE : ncols;
            for (long i = i0; i < i1; i++)
                for (long j = j0; j < j1; j++) dst[i * ncols + j] = src[i + j * ld];
        }
}

/* The row-block layout of an m × n matrix: this rank's row count, and the descriptor in the
 * size × 1 context (MB = bmc_rowblock_size(m, size), NB = n, lld ≥ 1). */
static long rowblock_desc(const bmc_distmat *a, int desc[9]) {
    const bmc_grid *g = a->grid;
    long row0, nrows;
    bmc_rowblock(a->m, g->size, g->rank, &row0, &nrows);
    long block = bmc_rowblock_size(a->m, g->size);
    BMC_CHECK(block <= a->m || a->m == 0);
    make_desc(desc, a->m, a->n, (int)block, max_int(1, a->n), g->ctxt_rows,
              max_int(1, (int)nrows));
    return nrows;
}

void bmc_distmat_from_rowblock(bmc_distmat *a, const double *rows) {
    BMC_CHECK(a != NULL && a->grid != NULL && a->grid->ctxt_rows >= 0);
    if (a->m == 0 || a->n == 0) return;
    int desc_rows[9];
    long nrows = rowblock_desc(a, desc_rows);
    BMC_CHECK(rows != NULL || nrows == 0);
    long ld = nrows > 0 ? nrows : 1;
    double *colmajor = XNEW(colmajor, bmc_mul_size((size_t)ld, (size_t)a->n));
    if (nrows > 0) rowmajor_to_colmajor(rows, nrows, a->n, colmajor, ld);
    int one = 1;
    pdgemr2d_(&a->m, &a->n, colmajor, &one, &one, desc_rows, a->data, &one, &one, a->desc,
              &a->grid->ctxt);
    free(colmajor);
}

void bmc_distmat_to_rowblock(const bmc_distmat *a, double *rows) {
    BMC_CHECK(a != NULL && a->grid != NULL && a->grid->ctxt_rows >= 0);
    if (a->m == 0 || a->n == 0) return;
    int desc_rows[9];
    long nrows = rowblock_desc(a, desc_rows);
    BMC_CHECK(rows != NULL || nrows == 0);
    long ld = nrows > 0 ? nrows : 1;
    double *colmajor = XNEW(colmajor, bmc_mul_size((size_t)ld, (size_t)a->n));
    int one = 1;
    pdgemr2d_(&a->m, &a->n, a->data, &one, &one, a->desc, colmajor, &one, &one, desc_rows,
              &a->grid->ctxt);
    if (nrows > 0) colmajor_to_rowmajor(colmajor, ld, nrows, a->n, rows);
    free(colmajor);
}
