/* bmc_grid.c — BLACS process grids, block-cyclic index arithmetic, the 2-D distributed
 * matrix (with its GEMM) and the row-block matrix (see bmc_grid.h for the contract).
 *
 * The index helpers are pure C (0-based) and match ScaLAPACK's numroc/indxl2g/indxg2l/indxg2p.
 * Redistribution goes through pdgemr2d between the row-block matrix's descriptor in the
 * size × 1 context and the 2-D one (plain column copies on one process); C-order row blocks
 * are transposed locally, tile by tile, to and from the row-block matrix.
 * Not here: the solvers (common/ridge), reading the row blocks from HDF5 (bmc_h5io.c).
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

/* Collective: see bmc_grid.h. */
void bmc_distmat_gemm(const char *ta, const char *tb, double alpha, const bmc_distmat *a,
                      const bmc_distmat *b, double beta, bmc_distmat *c) {
    int m = c->m, n = c->n, k = ta[0] == 'N' ? a->n : a->m, one = 1;
    if (m == 0 || n == 0) return;
    if (c->grid->size == 1)
        dgemm_(ta, tb, &m, &n, &k, &alpha, a->data, &a->lld, b->data, &b->lld, &beta, c->data,
               &c->lld, 1, 1);
    else
        pdgemm_(ta, tb, &m, &n, &k, &alpha, a->data, &one, &one, a->desc, b->data, &one, &one,
                b->desc, &beta, c->data, &one, &one, c->desc, 1, 1);
}

void bmc_distmat_from_rowblock(bmc_distmat *a, const double *rows) {
    BMC_CHECK(a != NULL && a->grid != NULL && a->grid->ctxt_rows >= 0);
    if (a->m == 0 || a->n == 0) return;
    bmc_rowblock_mat rb;
    bmc_rowblock_init(&rb, a->grid, a->m, a->n);
    BMC_CHECK(rows != NULL || rb.nrows == 0);
    bmc_rowblock_from_c(&rb, rows, a->n, 0);
    bmc_rowblock_to_distmat(a, 0, &rb, 0, a->m);
    bmc_rowblock_free(&rb);
}

void bmc_distmat_to_rowblock(const bmc_distmat *a, double *rows) {
    BMC_CHECK(a != NULL && a->grid != NULL && a->grid->ctxt_rows >= 0);
    if (a->m == 0 || a->n == 0) return;
    bmc_rowblock_mat rb;
    bmc_rowblock_init(&rb, a->grid, a->m, a->n);
    BMC_CHECK(rows != NULL || rb.nrows == 0);
    bmc_rowblock_from_distmat(&rb, a);
    bmc_rowblock_to_c(rows, a->n, 0, &rb);
    bmc_rowblock_free(&rb);
}

/* ---- row-block matrix -------------------------------------------------------------------- */

void bmc_rowblock_init(bmc_rowblock_mat *a, const bmc_grid *g, int m, int n) {
    BMC_CHECK(a != NULL && g != NULL && g->ctxt_rows >= 0 && m >= 0 && n >= 0);
    memset(a, 0, sizeof *a);
    a->grid = g;
    a->m = m;
    a->n = n;
    bmc_rowblock(m, g->size, g->rank, &a->row0, &a->nrows);
    a->ld = max_int(1, (int)a->nrows);
    long block = bmc_rowblock_size(m, g->size);
    BMC_CHECK(block <= m || m == 0);
    make_desc(a->desc, m, n, (int)block, max_int(1, n), g->ctxt_rows, a->ld);
    size_t bytes = bmc_rowblock_bytes(a);
    a->data = xcalloc(bytes ? bytes : 1, 1);
}

void bmc_rowblock_free(bmc_rowblock_mat *a) {
    if (a == NULL) return;
    free(a->data);
    a->data = NULL;
}

/* Tile edge of the cache-blocked transposes: both sides stay within a few cache lines and
 * pages (the element-wise loop missed the TLB on every write at large leading dimensions). */
enum { TRANSPOSE_TILE = 32 };

static long min_long(long a, long b) { return a < b ? a : b; }

void bmc_rowblock_from_c(bmc_rowblock_mat *dst, const double *rows, long stride, int col0) {
    const size_t ld = (size_t)dst->ld;
    for (long i0 = 0; i0 < dst->nrows; i0 += TRANSPOSE_TILE)
        for (int j0 = 0; j0 < dst->n; j0 += TRANSPOSE_TILE) {
            long i1 = min_long(i0 + TRANSPOSE_TILE, dst->nrows);
            int j1 = (int)min_long(j0 + TRANSPOSE_TILE, dst->n);
            for (int j = j0; j < j1; j++)
                for (long i = i0; i < i1; i++)
                    dst->data[(size_t)i + (size_t)j * ld] = rows[i * stride + col0 + j];
        }
}

void bmc_rowblock_to_c(double *rows, long stride, int col0, const bmc_rowblock_mat *src) {
    const size_t ld = (size_t)src->ld;
    for (long i0 = 0; i0 < src->nrows; i0 += TRANSPOSE_TILE)
        for (int j0 = 0; j0 < src->n; j0 += TRANSPOSE_TILE) {
            long i1 = min_long(i0 + TRANSPOSE_TILE, src->nrows);
            int j1 = (int)min_long(j0 + TRANSPOSE_TILE, src->n);
            for (long i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++)
                    rows[i * stride + col0 + j] = src->data[(size_t)i + (size_t)j * ld];
        }
}

void bmc_rowblock_to_distmat(bmc_distmat *dst, int dst0, const bmc_rowblock_mat *src, int r0,
                             int r1) {
    BMC_CHECK(src->n == dst->n && src->grid->ctxt == dst->grid->ctxt);
    BMC_CHECK(r0 >= 0 && dst0 >= 0 && (r1 <= r0 || (r1 <= src->m && dst0 + r1 - r0 <= dst->m)));
    int m = r1 - r0, n = src->n, ia = r0 + 1, ib = dst0 + 1, one = 1;
    if (m <= 0 || n <= 0) return;
    if (dst->grid->size == 1) { /* both are the whole matrix, column-major: copy columns */
        for (int j = 0; j < n; j++)
            memcpy(dst->data + (size_t)dst0 + (size_t)j * (size_t)dst->lld,
                   src->data + (size_t)r0 + (size_t)j * (size_t)src->ld,
                   (size_t)m * sizeof(double));
        return;
    }
    pdgemr2d_(&m, &n, src->data, &ia, &one, src->desc, dst->data, &ib, &one, dst->desc,
              &dst->grid->ctxt);
}

void bmc_rowblock_from_distmat(bmc_rowblock_mat *dst, const bmc_distmat *src) {
    BMC_CHECK(src->m == dst->m && src->n == dst->n && src->grid->ctxt == dst->grid->ctxt);
    int m = src->m, n = src->n, one = 1;
    if (m <= 0 || n <= 0) return;
    if (src->grid->size == 1) {
        for (int j = 0; j < n; j++)
            memcpy(dst->data + (size_t)j * (size_t)dst->ld,
                   src->data + (size_t)j * (size_t)src->lld, (size_t)m * sizeof(double));
        return;
    }
    pdgemr2d_(&m, &n, src->data, &one, &one, src->desc, dst->data, &one, &one, dst->desc,
              &src->grid->ctxt);
}

void bmc_rowblock_col_means(double *mean, const bmc_rowblock_mat *a, int skip0, int skip1) {
    BMC_CHECK(skip0 <= skip1 && a->m - (skip1 - skip0) >= 1 && a->n >= 0);
    for (int j = 0; j < a->n; j++) {
        double sum = 0.0;
        for (long i = 0; i < a->nrows; i++) {
            long gi = a->row0 + i;
            if (gi < skip0 || gi >= skip1) sum += a->data[(size_t)i + (size_t)j * (size_t)a->ld];
        }
        mean[j] = sum;
    }
    if (a->n > 0)
        BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, mean, a->n, MPI_DOUBLE, MPI_SUM, a->grid->comm));
    for (int j = 0; j < a->n; j++) mean[j] /= (double)(a->m - (skip1 - skip0));
}
