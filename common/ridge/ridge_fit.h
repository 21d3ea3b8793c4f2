/* ridge_fit.h — internal to the ridge fit (ridge.c, ridge_basis.c, ridge_block.c): the
 * eigenbasis of one training set, the fit's context, and the functions the three files share.
 * Not a public contract (ridge.h is); the matrices are bmc_grid.h's, counted in ridge_dist.h.
 */
#ifndef BMC_RIDGE_FIT_H
#define BMC_RIDGE_FIT_H

#include "ridge.h"
#include "ridge_dist.h"

typedef struct ridge_basis {
    int f0, f1;       /* held-out rows (f0 = f1: none)                                     */
    int n_tr, n_te, r;/* training rows, held-out rows, eigenpairs                          */
    int dual;         /* 1: eigh(Xc·Xcᵀ + 1·1ᵀ) (n_tr ≤ p); 0: eigh(Xcᵀ·Xc)                  */
    int int_dim;      /* dual: the intercept direction; −1 in the primal form              */
    double *x_mean;   /* p */
    double *s;        /* r eigenvalues, ascending                                          */
    bmc_distmat Q;    /* dual: n_tr × n_tr eigenvectors; primal: V (p × p)                   */
    bmc_distmat U;    /* primal: Xc·V (n_tr × p)                                            */
    bmc_distmat A;    /* k-fold: held-out projection, n_te × r (Xte·Xcᵀ·Q or Xte·V)          */
    double *gdiag;    /* LOO: n_alpha × n_tr, G⁻¹_ii (dual) or 1 − h_ii (primal)            */
    float *q32;       /* MIXED: float32 copy of Q's local array (same layout), else NULL   */
} ridge_basis;

/* The spectral weight of direction j for penalty a: 1/(s_j + α), 0 on the intercept. */
static inline double ridge_spectral_w(const ridge_basis *b, int j, double alpha) {
    return j == b->int_dim ? 0.0 : 1.0 / (b->s[j] + alpha);
}

typedef struct ridge_fit_ctx {
    const ridge_problem *pb;
    const bmc_grid *g;
    int nb, tb;
    ridge_fill_fn fill;
    void *fill_ctx;
    ridge_sink_fn sink;          /* each solved block (ridge_fit: collect into the model)  */
    void *sink_ctx;
    int collect;                 /* ridge_fit: the model holds every column                */
    bmc_rowblock_mat X;          /* raw X */
    ridge_mem mt;
    double phase_s[RIDGE_N_PHASES]; /* this rank's wall seconds per phase */
    ridge_result *res;
    ridge_model *model;
    double *xc_xmean; /* dual model: this rank's rows of Xc·x̄ */
    bmc_err *err;
} ridge_fit_ctx;

/* Add the seconds since `since` to phase `ph`; returns the current time. */
static inline double ridge_lap(ridge_fit_ctx *fc, ridge_phase ph, double since) {
    double now = MPI_Wtime();
    fc->phase_s[ph] += now - since;
    return now;
}

/* Collective: the training part (rows outside [f0, f1)) and, when test is not NULL, the
 * held-out rows of a row-block matrix on the 2-D grid, centred with the training means
 * (ridge_basis.c). */
void ridge_split_centre(ridge_mem *mt, const bmc_grid *g, const bmc_rowblock_mat *src, int f0,
                        int f1, int nb, double *mean, bmc_distmat *train, bmc_distmat *test);

/* Collective: eigendecomposition of the training set outside rows [f0, f1) and what the
 * scores need from it (ridge_basis.c). Returns 0, or −1 with an agreed err when the
 * eigensolver fails. */
int ridge_basis_build(ridge_fit_ctx *fc, ridge_basis *b, int f0, int f1, int with_test);
void ridge_basis_free(ridge_mem *mt, const ridge_problem *pb, ridge_basis *b);

/* Collective: scores (mode's definition) of columns [col0, col0 + tb) for every penalty, added
 * into fc->res->scores with factor `weight`; with `best` (global, t) also the solve; with
 * select_here the per-target choice into best (ridge_block.c). Returns 0, or −1 with an
 * agreed err (reading Y failed or Y not finite). */
int ridge_process_block(ridge_fit_ctx *fc, const ridge_basis *b, int col0, int tb, double weight,
                        int score, int *best, int select_here);

/* Collective: the predicted peak of the fit (collect: with every column in the model, as
 * ridge_fit; else ridge_fit_stream's with the sink's bytes) for blocks of block_cols (cv.c). */
size_t ridge_memory_predict_mode(const ridge_problem *pb, int block_cols, int collect);

#endif
