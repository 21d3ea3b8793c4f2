/* bmc_grid.h — the process grid and the distributed matrix.
 *
 * A bmc_grid owns the BLACS contexts of a communicator: the 2-D nprow × npcol grid that
 * ScaLAPACK computes on, and a P × 1 grid whose process row r is rank r, which describes the
 * 1-D "row-block" layout that stages read from HDF5 (rank r holds rows
 * [r·B, min(m, (r+1)·B)) with B = ceil(m/P), so the layout is ScaLAPACK's own 1-D block
 * distribution and pdgemr2d can move between the two).
 * Index helpers follow ScaLAPACK's names (numroc, l2g, g2l, g2p); indices are 0-based.
 * Not here: the solvers themselves (stages/train), I/O (bmc_h5io.h).
 */
#ifndef BMC_GRID_H
#define BMC_GRID_H

#include <mpi.h>
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

/* Collective over the grid: fill `a` from the row-block layout. `rows` holds this rank's
 * nrows × a->n rows (bmc_rowblock(a->m, size, rank, ...)) in C (row-major) order. */
void bmc_distmat_from_rowblock(bmc_distmat *a, const double *rows);
/* Collective: the inverse; `rows` receives this rank's rows in C order. */
void bmc_distmat_to_rowblock(const bmc_distmat *a, double *rows);

#endif
