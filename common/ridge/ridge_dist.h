/* ridge_dist.h — internal to common/ridge (the fit, cv.c, predict.c): counted allocations
 * (ridge_mem, whose high-water mark ridge_fit reports and cv.c predicts) and the counted forms
 * of bmc_grid's 2-D and row-block matrices, the 2-D block size and eigensolver workspace
 * that the fit and its memory prediction share, and a few small collective helpers. Static
 * inline, so each file keeps its own copy; not a public contract (see ridge.h for that).
 * Not here: the matrices and their moves (common/bmc_grid.h), any of the algebra of the fit.
 */
#ifndef BMC_RIDGE_DIST_H
#define BMC_RIDGE_DIST_H

#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_scalapack.h"
#include "bmc_syevd.h"
#include "ridge.h"
#include "ridge_eig.h"

/* ---- tracked allocations --------------------------------------------------------------- */

/* Bytes held now and the most held at once (this rank). */
typedef struct ridge_mem {
    size_t cur, peak;
} ridge_mem;

static inline void ridge_mem_add(ridge_mem *m, size_t bytes) {
    m->cur += bytes;
    if (m->cur > m->peak) m->peak = m->cur;
}

static inline void ridge_mem_sub(ridge_mem *m, size_t bytes) {
    BMC_CHECK(m->cur >= bytes);
    m->cur -= bytes;
}

/* Zeroed array of count doubles (or ints: elem bytes each), counted. */
static inline void *ridge_mem_get(ridge_mem *m, size_t count, size_t elem) {
    size_t bytes = bmc_mul_size(count, elem);
    ridge_mem_add(m, bytes);
    return xcalloc(bytes ? bytes : 1, 1);
}

static inline void ridge_mem_put(ridge_mem *m, void *p, size_t count, size_t elem) {
    if (p == NULL) return;
    ridge_mem_sub(m, count * elem);
    free(p);
}

/* Local: bmc_distmat_init (nb × nb blocks) / bmc_distmat_free, counted. */
static inline void ridge_dm_init(ridge_mem *m, bmc_distmat *a, const bmc_grid *g, int rows,
                                 int cols, int nb) {
    bmc_distmat_init(a, g, rows, cols, nb, nb);
    ridge_mem_add(m, (size_t)a->lld * (size_t)a->nloc * sizeof(double));
}

static inline void ridge_dm_free(ridge_mem *m, bmc_distmat *a) {
    if (a->data == NULL) return;
    ridge_mem_sub(m, (size_t)a->lld * (size_t)a->nloc * sizeof(double));
    bmc_distmat_free(a);
}

/* Local: bmc_rowblock_init / bmc_rowblock_free, counted. */
static inline void ridge_rb_init(ridge_mem *m, bmc_rowblock_mat *a, const bmc_grid *g, int rows,
                                 int cols) {
    bmc_rowblock_init(a, g, rows, cols);
    ridge_mem_add(m, bmc_rowblock_bytes(a));
}

static inline void ridge_rb_free(ridge_mem *m, bmc_rowblock_mat *a) {
    if (a->data == NULL) return;
    ridge_mem_sub(m, bmc_rowblock_bytes(a));
    bmc_rowblock_free(a);
}

/* ---- shapes and workspace shared by the fit and its memory prediction ------------------ */

/* The 2-D block size of pb's fit: the requested size, 0 → 64. Any size is correct on any
 * grid: the eigensolver's workspace comes from bmc_pdsyevd_workspace, which covers the case
 * (one block covering a whole small matrix on a multi-process grid) that once gave wrong
 * solves. Local, pure. */
static inline int ridge_problem_block_size(const ridge_problem *pb) {
    return pb->nb > 0 ? pb->nb : 64;
}

/* Whether the fit scores LOO through the float32 screen (ridge_precision MIXED). Local. */
static inline int ridge_uses_mixed(const ridge_problem *pb) {
    return pb->precision == RIDGE_PRECISION_MIXED && pb->mode == RIDGE_MODE_LOO &&
           pb->grain == RIDGE_GRAIN_TARGET && pb->n <= pb->p;
}

/* Columns per float64 rescoring GEMM of MIXED near ties (at most a block's width). */
static inline int ridge_rescore_cols(int tb) { return tb < 64 ? tb : 64; }

/* Columns of the eigenvectors squared per GEMM when forming the LOO diagonals (ridge.c). */
enum { RIDGE_GDIAG_CHUNK = 16 };

/* Local: the eigensolver workspace (doubles, ints) for an r × r matrix in nb × nb blocks,
 * used by ridge_basis.c and by cv.c's memory prediction: bmc_pdsyevd_workspace (the library's
 * query raised to what its back-transformation really needs, the same on every process); on
 * one process raised to what ridge_eig_local needs. */
static inline void ridge_eig_workspace(int r, int nb, const bmc_grid *g, int *lwork,
                                       int *liwork) {
    bmc_pdsyevd_workspace(r, nb, g, lwork, liwork);
    if (g->size != 1) return;
    size_t li = 0, lwe = ridge_eig_work(r, &li);
    BMC_CHECK(lwe <= 2147483647u && li <= 2147483647u);
    if ((size_t)*lwork < lwe) *lwork = (int)lwe;
    if ((size_t)*liwork < li) *liwork = (int)li;
}

/* Local, pure: fold f of k over n rows, rows [*r0, *r1) with r0 = floor(f·n/k) (cv.c). */
void ridge_fold_rows(int n, int k, int f, int *r0, int *r1);

/* ---- small distributed helpers ----------------------------------------------------------- */

/* Element (li, lj) of a 2-D matrix's local array (an lvalue). */
#define RIDGE_AT(a, li, lj) ((a)->data[(size_t)(li) + (size_t)(lj) * (size_t)(a)->lld])

/* Collective: v[0..count) := its sum over the ranks of comm. */
static inline void ridge_allsum(double *v, size_t count, MPI_Comm comm) {
    BMC_CHECK(count <= 2147483647u);
    if (count > 0) BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, v, (int)count, MPI_DOUBLE, MPI_SUM, comm));
}

/* Local: subtract mean[global column] from every element of a. */
static inline void ridge_centre_columns(bmc_distmat *a, const double *mean) {
    for (int lj = 0; lj < a->nloc; lj++) {
        double mu = mean[bmc_distmat_col(a, lj)];
        for (int li = 0; li < a->mloc; li++) RIDGE_AT(a, li, lj) -= mu;
    }
}

#endif
