/* ridge_dist.h — internal to stages/train (the fit, cv.c, predict.c): counted allocations
 * (mem_track, whose high-water mark ridge_fit reports and cv.c predicts), row-block matrices
 * (this rank's rows in the size × 1 context), the pdgemr2d/pdgemm moves between them and the
 * 2-D block-cyclic layout (plain copies and dgemm on one process), and small collective
 * helpers (sums, column means, centring). Static inline, so each file keeps its own copy; not
 * a public contract (see ridge.h for that). Not here: any of the algebra of the fit.
 */
#ifndef BMC_RIDGE_DIST_H
#define BMC_RIDGE_DIST_H

#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_scalapack.h"
#include "ridge.h"
#include "ridge_eig.h"

/* ---- tracked allocations --------------------------------------------------------------- */

typedef struct mem_track {
    size_t cur, peak;
} mem_track;

static inline void mt_add(mem_track *m, size_t bytes) {
    m->cur += bytes;
    if (m->cur > m->peak) m->peak = m->cur;
}

static inline void mt_sub(mem_track *m, size_t bytes) {
    BMC_CHECK(m->cur >= bytes);
    m->cur -= bytes;
}

/* Zeroed array of count doubles (or ints: elem bytes each), counted. */
static inline void *mt_get(mem_track *m, size_t count, size_t elem) {
    size_t bytes = bmc_mul_size(count, elem);
    mt_add(m, bytes);
    return xcalloc(bytes ? bytes : 1, 1);
}

static inline void mt_put(mem_track *m, void *p, size_t count, size_t elem) {
    if (p == NULL) return;
    mt_sub(m, count * elem);
    free(p);
}

static inline void dm_init(mem_track *m, bmc_distmat *a, const bmc_grid *g, int rows, int cols,
                               int nb) {
    bmc_distmat_init(a, g, rows, cols, nb, nb);
    mt_add(m, (size_t)a->lld * (size_t)a->nloc * sizeof(double));
}

static inline void dm_free(mem_track *m, bmc_distmat *a) {
    if (a->data == NULL) return;
    mt_sub(m, (size_t)a->lld * (size_t)a->nloc * sizeof(double));
    bmc_distmat_free(a);
}

/* ---- row-block matrices: this rank's rows, column-major, in the size × 1 context -------- */

typedef struct rbmat {
    int m, n;
    long row0, nrows;
    int ld;
    int desc[9];
    double *data; /* ld × n */
} rbmat;

/* The 2-D block size used for an n × p problem (k folds, 1 without): the requested size
 * (0 → 64), capped so that the smallest distributed dimension spans at least two blocks per
 * process row and column. Tests found pdsyevd/pdsyrk-based solves wrong on this ScaLAPACK
 * (2.2.1) when one block covered a whole small matrix on a multi-process grid; the cap only
 * touches small problems (n = 8859 on a 2×2 grid keeps 64). Local, pure. */
static inline int ridge_block_size(int requested, long n, long p, int folds, const bmc_grid *g) {
    int nb = requested > 0 ? requested : 64;
    if (g->size == 1) return nb;
    long smallest = p < n / (folds > 1 ? folds : 1) ? p : n / (folds > 1 ? folds : 1);
    int procs = g->nprow > g->npcol ? g->nprow : g->npcol;
    long cap = smallest / (2L * procs);
    if (cap < 1) cap = 1;
    return nb > cap ? (int)cap : nb;
}

static inline void rb_init(mem_track *mt, rbmat *a, const bmc_grid *g, int rows, int cols) {
    memset(a, 0, sizeof *a);
    a->m = rows;
    a->n = cols;
    bmc_rowblock(rows, g->size, g->rank, &a->row0, &a->nrows);
    a->ld = a->nrows > 1 ? (int)a->nrows : 1;
    int mb = (int)bmc_rowblock_size(rows, g->size), nb = cols > 1 ? cols : 1, zero = 0;
    int info = 0;
    descinit_(a->desc, &rows, &cols, &mb, &nb, &zero, &zero, &g->ctxt_rows, &a->ld, &info);
    if (info != 0) BMC_BUG("descinit failed (info %d) for a %d x %d row block", info, rows, cols);
    a->data = mt_get(mt, (size_t)a->ld * (size_t)cols, sizeof(double));
}

static inline void rb_free(mem_track *mt, rbmat *a) {
    mt_put(mt, a->data, (size_t)a->ld * (size_t)a->n, sizeof(double));
    a->data = NULL;
}

/* The transposes between C-order rows and the column-major row block go tile by tile
 * (RB_TILE × RB_TILE), so both sides are walked within a few cache lines and pages; the
 * element-wise loop missed the TLB on every write at large leading dimensions. */
enum { RB_TILE = 32 };

/* Whether the fit scores LOO through the float32 screen (ridge_precision MIXED). Local. */
static inline int ridge_uses_mixed(const ridge_problem *pb) {
    return pb->precision == RIDGE_PRECISION_MIXED && pb->mode == RIDGE_LOO &&
           pb->grain == RIDGE_GRAIN_TARGET && pb->n <= pb->p;
}

/* Columns per float64 rescoring GEMM of MIXED near ties (at most a block's width). */
static inline int ridge_rescore_cols(int tb) { return tb < 64 ? tb : 64; }

/* Columns of the eigenvectors squared per GEMM when forming the LOO diagonals (ridge.c). */
enum { RIDGE_GDIAG_CHUNK = 16 };

/* a := rows (nrows × a->n, C order, row stride `stride`, starting at column col0). */
static inline void rb_from_c(rbmat *a, const double *rows, long stride, int col0) {
    for (long i0 = 0; i0 < a->nrows; i0 += RB_TILE)
        for (int j0 = 0; j0 < a->n; j0 += RB_TILE) {
            long i1 = i0 + RB_TILE < a->nrows ? i0 + RB_TILE : a->nrows;
            int j1 = j0 + RB_TILE < a->n ? j0 + RB_TILE : a->n;
            for (int j = j0; j < j1; j++)
                for (long i = i0; i < i1; i++)
                    a->data[(size_t)i + (size_t)j * (size_t)a->ld] = rows[i * stride + col0 + j];
        }
}

/* rows (C order, row stride `stride`, columns col0..) := a. */
static inline void rb_to_c(const rbmat *a, double *rows, long stride, int col0) {
    for (long i0 = 0; i0 < a->nrows; i0 += RB_TILE)
        for (int j0 = 0; j0 < a->n; j0 += RB_TILE) {
            long i1 = i0 + RB_TILE < a->nrows ? i0 + RB_TILE : a->nrows;
            int j1 = j0 + RB_TILE < a->n ? j0 + RB_TILE : a->n;
            for (long i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++)
                    rows[i * stride + col0 + j] = a->data[(size_t)i + (size_t)j * (size_t)a->ld];
        }
}

/* Collective: dst rows [dst0, dst0 + r1 − r0) := src rows [r0, r1). */
static inline void rows_to_2d(const rbmat *src, int r0, int r1, bmc_distmat *dst, int dst0) {
    int m = r1 - r0, n = src->n, ia = r0 + 1, ib = dst0 + 1, one = 1;
    if (m <= 0 || n <= 0) return;
    if (dst->grid->size == 1) { /* both are the whole matrix, column-major: copy columns */
        for (int j = 0; j < n; j++)
            memcpy(dst->data + (size_t)dst0 + (size_t)j * (size_t)dst->lld,
                   src->data + (size_t)r0 + (size_t)j * (size_t)src->ld, (size_t)m * sizeof(double));
        return;
    }
    pdgemr2d_(&m, &n, src->data, &ia, &one, src->desc, dst->data, &ib, &one, dst->desc,
              &dst->grid->ctxt);
}

/* Collective: dst := src (same global shape). */
static inline void dm_to_rb(const bmc_distmat *src, rbmat *dst) {
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

/* Collective over the grid's 2-D context: the eigensolver workspace (doubles, ints) for an
 * r × r matrix in nb × nb blocks, used by ridge_basis.c and by cv.c's memory prediction.
 * pdsyevd's query sizes 2·NP·NQ from this process's share, which is too small on a process
 * that holds no rows (pdlaed3 overflows it): pad with the largest share. On one process the
 * result is raised to what ridge_eig_local needs. */
static inline void ridge_eig_workspace(int r, int nb, const bmc_grid *g, int *lwork,
                                       int *liwork) {
    int desc[9], info = 0, zero = 0, one = 1, lld = bmc_numroc(r, nb, g->myrow, 0, g->nprow);
    if (lld < 1) lld = 1;
    descinit_(desc, &r, &r, &nb, &nb, &zero, &zero, &g->ctxt, &lld, &info);
    BMC_CHECK(info == 0);
    double dummy = 0.0, wq = 0.0;
    int iwq = 0, lw = -1, liw = -1;
    pdsyevd_("V", "L", &r, &dummy, &one, &one, desc, &dummy, &dummy, &one, &one, desc, &wq, &lw,
             &iwq, &liw, &info, 1, 1);
    *lwork = (int)wq + 1 + 2 * bmc_numroc(r, nb, 0, 0, g->nprow) * bmc_numroc(r, nb, 0, 0, g->npcol);
    *liwork = iwq > 1 ? iwq : 1;
    if (g->size != 1) return;
    size_t li = 0, lwe = ridge_eig_work(r, &li);
    BMC_CHECK(lwe <= 2147483647u && li <= 2147483647u);
    if ((size_t)*lwork < lwe) *lwork = (int)lwe;
    if ((size_t)*liwork < li) *liwork = (int)li;
}

/* Collective: C := alpha·op(A)·op(B) + beta·C on whole matrices. On one process the local
 * arrays are the whole matrices, and dgemm skips PBLAS's rank-nb panel updates. */
static inline void gemm(const char *ta, const char *tb, double alpha, const bmc_distmat *a,
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

/* ---- small distributed helpers ----------------------------------------------------------- */

static inline int l2g(int l, int nb, int iproc, int nprocs) {
    return ((l / nb) * nprocs + iproc) * nb + l % nb;
}
#define ROW_G(a, li) l2g((li), (a)->mb, (a)->grid->myrow, (a)->grid->nprow)
#define COL_G(a, lj) l2g((lj), (a)->nb, (a)->grid->mycol, (a)->grid->npcol)
#define AT(a, li, lj) ((a)->data[(size_t)(li) + (size_t)(lj) * (size_t)(a)->lld])

static inline void allsum(double *v, size_t count, MPI_Comm comm) {
    BMC_CHECK(count <= 2147483647u);
    if (count > 0) BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, v, (int)count, MPI_DOUBLE, MPI_SUM, comm));
}

/* Local: subtract mean[global column] from every element of a. */
static inline void centre_columns(bmc_distmat *a, const double *mean) {
    for (int lj = 0; lj < a->nloc; lj++) {
        double mu = mean[COL_G(a, lj)];
        for (int li = 0; li < a->mloc; li++) AT(a, li, lj) -= mu;
    }
}

/* Collective: column means of the row-block matrix over its rows outside [skip0, skip1). */
static inline void rowblock_means(const rbmat *a, int skip0, int skip1, MPI_Comm comm,
                                  double *mean) {
    for (int j = 0; j < a->n; j++) {
        double sum = 0.0;
        for (long i = 0; i < a->nrows; i++) {
            long gi = a->row0 + i;
            if (gi < skip0 || gi >= skip1) sum += a->data[(size_t)i + (size_t)j * (size_t)a->ld];
        }
        mean[j] = sum;
    }
    allsum(mean, (size_t)a->n, comm);
    for (int j = 0; j < a->n; j++) mean[j] /= (double)(a->m - (skip1 - skip0));
}

#endif
