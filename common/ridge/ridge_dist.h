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

/* Columns per float64 rescoring GEMM of MIXED near ties: at most a block's width and one
 * column quantum (ridge_col_quantum). */
static inline int ridge_rescore_cols(int tb, int quantum) { return tb < quantum ? tb : quantum; }

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

/* Collective: v[0..count) := its sum over the ranks of comm, added in rank order on rank 0
 * ((v₀ + v₁) + v₂ …) and broadcast: each element's bits depend neither on count nor on its
 * position (MPI_Allreduce picks its algorithm, and so its order, by the message size), so
 * blocked and unblocked fits agree bit for bit on any rank count. Rank 0 receives through a
 * fixed buffer of RIDGE_SUM_CHUNK doubles. */
enum { RIDGE_SUM_CHUNK = 8192 };
static inline void ridge_allsum(double *v, size_t count, MPI_Comm comm) {
    BMC_CHECK(count <= 2147483647u);
    int size = 1, rank = 0;
    BMC_MPI(MPI_Comm_size(comm, &size));
    if (size == 1 || count == 0) return;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    double *buf = rank == 0 ? XNEW(buf, count < RIDGE_SUM_CHUNK ? count : RIDGE_SUM_CHUNK) : NULL;
    for (size_t off = 0; off < count; off += RIDGE_SUM_CHUNK) {
        int len = (int)(count - off < RIDGE_SUM_CHUNK ? count - off : RIDGE_SUM_CHUNK);
        if (rank != 0) {
            BMC_MPI(MPI_Send(v + off, len, MPI_DOUBLE, 0, 0, comm));
            continue;
        }
        for (int r = 1; r < size; r++) {
            BMC_MPI(MPI_Recv(buf, len, MPI_DOUBLE, r, 0, comm, MPI_STATUS_IGNORE));
            for (int i = 0; i < len; i++) v[off + (size_t)i] += buf[i];
        }
    }
    free(buf);
    BMC_MPI(MPI_Bcast(v, (int)count, MPI_DOUBLE, 0, comm));
}

/* Collective: mean[j] := the mean of column j of a over its rows outside [skip0, skip1), summed
 * by ridge_allsum (bmc_rowblock_col_means, in a blocking-independent order). */
static inline void ridge_col_means(double *mean, const bmc_rowblock_mat *a, int skip0, int skip1) {
    BMC_CHECK(skip0 <= skip1 && a->m - (skip1 - skip0) >= 1 && a->n >= 0);
    for (int j = 0; j < a->n; j++) {
        double sum = 0.0;
        for (long i = 0; i < a->nrows; i++) {
            long gi = a->row0 + i;
            if (gi < skip0 || gi >= skip1) sum += a->data[(size_t)i + (size_t)j * (size_t)a->ld];
        }
        mean[j] = sum;
    }
    ridge_allsum(mean, (size_t)a->n, a->grid->comm);
    for (int j = 0; j < a->n; j++) mean[j] /= (double)(a->m - (skip1 - skip0));
}

/* The column quantum of a grid with nb-column blocks: RIDGE_COL_QUANTUM rounded up to whole
 * cycles of the process columns (nb · npcol), so that a quantum-aligned column block of Y lies
 * on the process columns as the same columns of all of Y do. Local, pure. */
static inline int ridge_col_quantum(const bmc_grid *g, int nb) {
    int cycle = g->size == 1 ? 1 : nb * g->npcol;
    return (RIDGE_COL_QUANTUM + cycle - 1) / cycle * cycle;
}

/* Collective: c := alpha·op(a)·b + beta·c (bmc_distmat_gemm) where b's and c's columns are
 * columns of Y, one column quantum (ridge_col_quantum) at a time: every call has the same
 * shape and layout whatever the block's width, so a column's bits do not depend on how Y was
 * cut into blocks (the BLAS's kernels and pdgemm's algorithm both change with the shape). */
static inline void ridge_gemm_ycols(const char *ta, double alpha, const bmc_distmat *a,
                                    const bmc_distmat *b, double beta, bmc_distmat *c) {
    int m = c->m, k = ta[0] == 'N' ? a->n : a->m, one = 1, q = ridge_col_quantum(c->grid, c->nb);
    if (m == 0) return;
    for (int c0 = 0; c0 < c->n; c0 += q) {
        int w = c->n - c0 < q ? c->n - c0 : q, ja = c0 + 1;
        if (c->grid->size == 1)
            dgemm_(ta, "N", &m, &w, &k, &alpha, a->data, &a->lld,
                   b->data + (size_t)c0 * (size_t)b->lld, &b->lld, &beta,
                   c->data + (size_t)c0 * (size_t)c->lld, &c->lld, 1, 1);
        else
            pdgemm_(ta, "N", &m, &w, &k, &alpha, a->data, &one, &one, a->desc, b->data, &one, &ja,
                    b->desc, &beta, c->data, &one, &ja, c->desc, 1, 1);
    }
}

/* Local: subtract mean[global column] from every element of a. */
static inline void ridge_centre_columns(bmc_distmat *a, const double *mean) {
    for (int lj = 0; lj < a->nloc; lj++) {
        double mu = mean[bmc_distmat_col(a, lj)];
        for (int li = 0; li < a->mloc; li++) RIDGE_AT(a, li, lj) -= mu;
    }
}

#endif
