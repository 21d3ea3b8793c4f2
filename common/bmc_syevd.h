/* bmc_syevd.h — the workspace of ScaLAPACK's symmetric eigensolver pdsyevd, sized so that it
 * really covers the solver.
 *
 * Root cause of a wrong-result case (reproduced by tests/mpi/test_scalapack_bigblock.c): the
 * workspace query of pdsyevd (ScaLAPACK 2.2.1, and the reference sources to date) answers
 *     LWMIN = max(1 + 6n + 2·NP·NQ, 3n + max(NB·(NP + 1), 3·NB)) + 2n
 * for the calling process (NP × NQ: its share of the n × n matrix in NB × NB blocks), and
 * hands LWORK − 2n on to the divide-and-conquer and back-transformation routines, which need
 *     PDORMTR: max(NB·(NB − 1)/2, (NP + NQ)·NB) + NB²
 *     PDLASRT (n > NB on several processes): max(n, NP·(NB + NQ)).
 * When a block is large against the local matrix (a block covering a whole small matrix, or
 * n close to NB on a multi-process grid) LWMIN is smaller than those. The routine that finds
 * LWORK too small reports it through PXERBLA and returns; pdsyevd ignores its status and
 * returns INFO = 0 — with the eigenvectors of the tridiagonal matrix instead of A's when it is
 * PDORMTR, and with a deadlock when only some processes' PDLASRT reject their workspace; the
 * distributed divide and conquer before it checks nothing and can write past a workspace
 * that small (heap corruption seen on a 4 × 1 grid, n = 100, NB = 64).
 * Not here: calling the solver (common/ridge/ridge_basis.c).
 */
#ifndef BMC_SYEVD_H
#define BMC_SYEVD_H

#include "bmc_grid.h"

/* Local (no communication; the same answer on every process of g): lwork and liwork for
 * pdsyevd("V", "L", n, ...) on an n × n matrix in nb × nb blocks on g's 2-D grid: the
 * library's query for the process holding the most of the matrix, raised to what its inner
 * PDORMTR and PDLASRT calls need. Aborts (a bug) if the sizes do not fit an int. */
void bmc_pdsyevd_workspace(int n, int nb, const bmc_grid *g, int *lwork, int *liwork);

/* Local: the library's own answer to the workspace query (lwork = liwork = -1) on this
 * process (it differs between processes). */
void bmc_pdsyevd_workspace_library(int n, int nb, const bmc_grid *g, int *lwork, int *liwork);

/* Local, pure: the LWORK − 2n that pdsyevd's inner routines need on process (myrow, mycol)
 * of an nprow × npcol grid: PDORMTR's in *ormtr, PDLASRT's in *lasrt (0 where it does not
 * run: n ≤ nb or one process). */
void bmc_pdsyevd_inner_needs(int n, int nb, int nprow, int npcol, int myrow, int mycol,
                             long *ormtr, long *lasrt);

#endif
