/* bmc_grid.h — the process grid, the 2-D distributed matrix and the row-block matrix.
 *
 * A bmc_grid owns the BLACS contexts of a communicator: the 2-D nprow × npcol grid that
 * ScaLAPACK computes on, and a P × 1 grid whose process row r is rank r, which describes the
 * 1-D "row-block" layout that stages read from HDF5 (rank r holds rows
 * [r·B, min(m, (r+1)·B)) with B = ceil(m/P), so the layout is ScaLAPACK's own 1-D block
 * distribution and pdgemr2d can move between the two).
 * Index helpers follow ScaLAPACK's names (numroc, l2g, g2l, g2p); indices are 0-based.
 * Shapes are global unless a name says local (mloc, nloc, nrows); every function says whether
 * it is Local (no communication) or Collective (every rank of the grid calls it, same
 * arguments but for local buffers).
 * Not here: the solvers themselves (common/ridge), I/O (bmc_h5io.h).
 */
#ifndef BMC_GRID_H
#define BMC_GRID_H

#include <mpi.h>
#include <stddef.h>

#include "bmc_error.h"

typedef struct bmc_grid {
    MPI_Comm comm;     /* not owned; all ranks of it are in the grid        */
    int rank, size;    /* in comm                                           */
    int ctxt;          /* 2-D BLACS context, row-major process ordering     */
    int nprow, npcol;  /* nprow * npcol == size                             */
    int myrow, mycol;
    int ctxt_rows;     /* size × 1 context: process row r is rank r of comm */
} bmc_grid;

/* Collective over comm. nprow = npcol = 0 picks the squarest grid with nprow ≤ npcol.
 * nprow * npcol must equal the communicator size (error otherwise, agreed). */
int bmc_grid_init(bmc_grid *g, MPI_Comm comm, int nprow, int npcol, bmc_err *err);
/* Collective: release the BLACS contexts (MPI stays initialised). */
void bmc_grid_free(bmc_grid *g);

/* ---- index helpers (pure, local; 0-based indices, source process 0) ------------------ */

/* Number of rows/cols of an n-long dimension with block nb that process iproc holds. */
int bmc_numroc(int n, int nb, int iproc, int isrcproc, int nprocs);
/* Global index of local index l on process iproc. */
int bmc_l2g(int l, int nb, int iproc, int nprocs);
/* bmc_l2g without its checks, for inner loops: l ≥ 0 must be a local index of a dimension
 * that fits int (l < bmc_numroc(n, nb, iproc, 0, nprocs)), nb ≥ 1, 0 ≤ iproc < nprocs. */
static inline int bmc_l2g_fast(int l, int nb, int iproc, int nprocs) {
    return ((l / nb) * nprocs + iproc) * nb + l % nb;
}
/* Local index of global index g on its owner. */
int bmc_g2l(int g, int nb, int nprocs);
/* Process that owns global index g. */
int bmc_g2p(int g, int nb, int nprocs);

/* Row-block layout: block size ceil(n / nprocs) (at least 1), and the rows of `rank`. */
long bmc_rowblock_size(long n, int nprocs);
void bmc_rowblock(long n, int nprocs, int rank, long *row0, long *nrows);

/* ---- distributed matrix ---------------------------------------------------------------- */

typedef struct bmc_distmat {
    const bmc_grid *grid;
    int m, n;          /* global shape                                          */
    int mb, nb;        /* block sizes                                           */
    int mloc, nloc;    /* local shape                                           */
    int lld;           /* local leading dimension (column-major), ≥ max(1,mloc) */
    int desc[9];       /* ScaLAPACK descriptor in the 2-D context               */
    double *data;      /* lld × nloc, column-major, zero-initialised            */
} bmc_distmat;

/* Local: allocate an m × n matrix with mb × nb blocks on the grid's 2-D context. */
void bmc_distmat_init(bmc_distmat *a, const bmc_grid *g, int m, int n, int mb, int nb);
void bmc_distmat_free(bmc_distmat *a);

/* Local, unchecked (inner loops): the global row of local row li, the global column of local
 * column lj. */
static inline int bmc_distmat_row(const bmc_distmat *a, int li) {
    return bmc_l2g_fast(li, a->mb, a->grid->myrow, a->grid->nprow);
}
static inline int bmc_distmat_col(const bmc_distmat *a, int lj) {
    return bmc_l2g_fast(lj, a->nb, a->grid->mycol, a->grid->npcol);
}

/* Collective: C := alpha·op(A)·op(B) + beta·C on whole matrices (BLAS argument order; ta, tb
 * "N" or "T"; C is m × n, op(A) m × k, op(B) k × n, all on one grid). pdgemm on the grid; on
 * one process the local arrays are the whole matrices and dgemm runs on them directly,
 * skipping PBLAS's rank-nb panel updates. */
void bmc_distmat_gemm(const char *ta, const char *tb, double alpha, const bmc_distmat *a,
                      const bmc_distmat *b, double beta, bmc_distmat *c);

/* Collective over the grid: fill `a` from the row-block layout. `rows` holds this rank's
 * nrows × a->n rows (bmc_rowblock(a->m, size, rank, ...)) in C (row-major) order. */
void bmc_distmat_from_rowblock(bmc_distmat *a, const double *rows);
/* Collective: the inverse; `rows` receives this rank's rows in C order. */
void bmc_distmat_to_rowblock(const bmc_distmat *a, double *rows);

/* ---- row-block matrix ------------------------------------------------------------------ */

/* An m × n matrix in the row-block layout: this rank's rows [row0, row0 + nrows) of it
 * (bmc_rowblock(m, size, rank)), column-major, with a descriptor in the size × 1 context
 * (row block bmc_rowblock_size(m, size), one column block) so that pdgemr2d moves it to and
 * from 2-D matrices. Stages hold row blocks in C order (what HDF5 reads give); the
 * bmc_rowblock_{from,to}_c transposes go between the two. */
typedef struct bmc_rowblock_mat {
    const bmc_grid *grid;
    int m, n;          /* global shape                                            */
    long row0, nrows;  /* this rank's rows                                        */
    int ld;            /* max(1, nrows)                                           */
    int desc[9];       /* ScaLAPACK descriptor in the size × 1 context            */
    double *data;      /* ld × n, column-major, zero-initialised                  */
} bmc_rowblock_mat;

/* Local: allocate this rank's rows of an m × n row-block matrix (zeroed). */
void bmc_rowblock_init(bmc_rowblock_mat *a, const bmc_grid *g, int m, int n);
/* Local: release the data (a no-op on a freed or zeroed matrix). */
void bmc_rowblock_free(bmc_rowblock_mat *a);
/* Local: bytes of a's local array (ld × n doubles), what bmc_rowblock_init allocated. */
static inline size_t bmc_rowblock_bytes(const bmc_rowblock_mat *a) {
    return (size_t)a->ld * (size_t)a->n * sizeof(double);
}

/* Local: dst := this rank's rows of a C-order array: dst(i, j) = rows[i·stride + col0 + j] for
 * i < dst->nrows, j < dst->n (a column window of wider rows; stride ≥ col0 + n). Tiled, so both
 * sides are walked within a few cache lines and pages. */
void bmc_rowblock_from_c(bmc_rowblock_mat *dst, const double *rows, long stride, int col0);
/* Local: the inverse: rows[i·stride + col0 + j] := src(i, j); other columns are untouched. */
void bmc_rowblock_to_c(double *rows, long stride, int col0, const bmc_rowblock_mat *src);

/* Collective: rows [dst0, dst0 + r1 − r0) of the 2-D matrix dst := rows [r0, r1) of src (same
 * column count, same grid). A no-op when r1 ≤ r0. */
void bmc_rowblock_to_distmat(bmc_distmat *dst, int dst0, const bmc_rowblock_mat *src, int r0,
                             int r1);
/* Collective: dst := src (same global shape, same grid). */
void bmc_rowblock_from_distmat(bmc_rowblock_mat *dst, const bmc_distmat *src);

/* Collective: mean[j] (n, global, identical on every rank) := the mean of column j of a over
 * its rows outside [skip0, skip1) (skip0 = skip1: every row); at least one row must remain.
 * The sum is this rank's rows in order, then an allreduce. */
void bmc_rowblock_col_means(double *mean, const bmc_rowblock_mat *a, int skip0, int skip1);

#endif
