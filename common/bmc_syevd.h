/* bmc_syevd.h — ScaLAPACK's symmetric eigensolver pdsyevd, made safe against two defects of
 * the library (ScaLAPACK 2.2.1, and the reference sources to date), each reproduced by
 * tests/mpi/test_scalapack_bigblock.c.
 *
 * 1. Eigenvalues on one process only. W is documented as global output, but when the matrix
 * fits one block (n ≤ NB) on a multi-process grid, PDSTEDC runs the serial DSTEDC on the
 * process owning that block and broadcasts nothing: every other process keeps the
 * tridiagonal's diagonal in W (unsorted, not the eigenvalues) while Z is right. This was the
 * root cause of ridge solves that were wrong when one 2-D block covered a whole small matrix
 * (the spectral weights 1/(s_j + α) were computed from that W on the other processes).
 * bmc_pdsyevd broadcasts W from the owner of block (0, 0).
 *
 * 2. The workspace. The workspace query of pdsyevd answers
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
 * Not here: what the eigenvectors are used for (common/ridge/ridge_basis.c).
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

/* Collective over a's grid: eigenvalues w (n, ascending, the same on every process) and
 * eigenvectors z (n × n, a's layout) of the symmetric n × n matrix a (lower triangle read,
 * overwritten), by pdsyevd with a workspace from bmc_pdsyevd_workspace. a and z: n × n with
 * square blocks on one grid. Returns the solver's info, agreed (the largest |info| of any
 * process; 0: success). */
int bmc_pdsyevd(bmc_distmat *a, double *w, bmc_distmat *z, double *work, int lwork, int *iwork,
                int liwork);

#endif
