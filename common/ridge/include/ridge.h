/* ridge.h — distributed multi-target ridge regression with an intercept and one penalty per
 * target (or per token / group of targets), chosen by exact leave-one-out (scikit-learn's
 * RidgeCV "GCV"), the GCV trace approximation, or k-fold cross-validation.
 *
 * X (n × p) and Y (n × t) arrive as row blocks (rank r holds rows bmc_rowblock(n, P, r), C
 * order); the heavy algebra (Gram matrix, pdsyevd, projections) runs on the grid's 2-D context.
 * Y is requested in column blocks through a callback, so it never has to exist at once.
 * Not here: file I/O (but for the penalty grid's config reader), the training stage's main,
 * refinement by gradient descent.
 */
#ifndef BMC_RIDGE_H
#define BMC_RIDGE_H

#include <stddef.h>

#include "bmc_config.h"
#include "bmc_error.h"
#include "bmc_grid.h"

/* How each target's penalty is chosen (ridge_problem.mode):
 *  LOO:   exact leave-one-out (scikit-learn's RidgeCV default, which it calls "GCV");
 *  GCV:   the generalized cross-validation approximation (the trace formula);
 *  KFOLD: mean held-out error over ridge_problem.kfold contiguous folds. */
typedef enum { RIDGE_MODE_LOO = 0, RIDGE_MODE_GCV = 1, RIDGE_MODE_KFOLD = 2 } ridge_mode;

/* Granularity of the penalty choice (ridge_select):
 *  TARGET: every column its own α (scikit-learn's alpha_per_target);
 *  TOKEN:  consecutive groups of token_size columns (the last one may be shorter) share the α
 *          minimising the group's summed score;
 *  GROUP:  one α for all targets, minimising J(α) = Σ_g weight_g · S_g(α) / min_α' S_g(α'),
 *          with S_g(α) the mean score of the columns whose group_of is g (groups with no
 *          column, or with min S_g = 0, are skipped). */
typedef enum { RIDGE_GRAIN_TARGET = 0, RIDGE_GRAIN_TOKEN = 1, RIDGE_GRAIN_GROUP = 2 } ridge_grain;

/* Arithmetic of the LOO scores (ridge_problem.precision):
 *  DOUBLE: everything in float64 (scores equal scikit-learn's to ~1e-13);
 *  MIXED:  the per-penalty GEMMs of exact LOO run in float32 (twice the rate) as a screen;
 *          where another penalty's screened score is within RIDGE_MIXED_TIE (relative) of a
 *          target's lowest, the scores of those penalties and of the lowest are recomputed in
 *          float64, so the choice is the float64 choice; the other stored scores carry float32
 *          rounding (~1e-7 relative). The solve and the model are float64 either way. Applies
 *          to mode LOO, grain TARGET, dual form (n ≤ p); elsewhere it means DOUBLE. */
typedef enum { RIDGE_PRECISION_DOUBLE = 0, RIDGE_PRECISION_MIXED = 1 } ridge_precision;

/* The relative score gap below which MIXED rescoring kicks in: the float32 screen's score
 * errors measured ≤ 7.9e-8 relative (bench data, n = 2000 and 4000), over 100 times below it. */
#define RIDGE_MIXED_TIE 1e-5

/* The default penalty grid (bmc-train's alphas, bmc-evaluate's align_alphas), bmc-train's
 * since its first version: 17 values 10^-1 … 10^7 in half-decade steps, α_i = 10^(i/2 − 1)
 * written as the doubles pow(10, −1 + 0.5·i) returns (shortest round-trip decimals). It
 * brackets the one fixed penalty Brain-Diffuser fits its CLIP-vision regression on NSD with
 * (6·10^4, scripts/clipvision_regression.py) by two decades above and over five below, so the
 * per-target choice can land on either side of it. */
#define RIDGE_DEFAULT_N_ALPHA 17
#define RIDGE_DEFAULT_ALPHAS                                                                  \
    {0.1, 0.31622776601683794, 1.0, 3.1622776601683795, 10.0, 31.622776601683793, 100.0,     \
     316.22776601683796, 1000.0, 3162.2776601683795, 10000.0, 31622.776601683792, 100000.0,  \
     316227.7660168379, 1000000.0, 3162277.6601683795, 10000000.0}

typedef struct ridge_problem {
    const bmc_grid *grid;
    int n, p, t;           /* global shapes: X n × p, Y n × t                              */
    int n_alpha;           /* penalties, strictly increasing, > 0 (checked)                */
    const double *alphas;  /* not owned                                                    */
    ridge_mode mode;
    int kfold;             /* RIDGE_MODE_KFOLD: number of contiguous folds, 2 ≤ k ≤ n      */
    ridge_grain grain;
    int token_size;        /* RIDGE_GRAIN_TOKEN: columns per token (≥ 1)                   */
    int n_groups;          /* RIDGE_GRAIN_GROUP: groups 0..n_groups-1                      */
    const int *group_of;   /* RIDGE_GRAIN_GROUP: t entries in [0, n_groups)                */
    const double *group_weight; /* RIDGE_GRAIN_GROUP: n_groups weights ≥ 0                  */
    size_t mem_budget;     /* bytes per rank for the working set; 0 = all columns at once  */
    int nb;                /* 2-D block size; 0 = 64                                       */
    ridge_precision precision; /* LOO scoring arithmetic; 0 = DOUBLE                      */
    int max_block_cols;    /* at most this many Y columns per block (0: as the budget allows) */
    size_t sink_col_bytes; /* ridge_fit_stream: bytes per rank the sink uses per column of a
                            * block while it runs (counted in the budget); 0 for none      */
    size_t sink_setup_bytes; /* ridge_fit_stream: bytes per rank the sink may hold beyond that
                            * during its first call (a one-time set-up); 0 for none        */
} ridge_problem;

/* The solver's GEMMs over Y's columns run this many columns at a time (rounded up to whole
 * cycles of the grid's process columns), and column blocks narrower than Y are whole
 * multiples of it (when at least that wide), so the solution does not depend on the
 * blocking: a blocked fit equals an unblocked one bit for bit. */
#define RIDGE_COL_QUANTUM 64

/* Fill this rank's rows of Y's columns [col0, col0 + ncols): `rows` is nloc × ncols in C
 * order (nloc from bmc_rowblock(n, P, rank)). Called on every rank with the same sequence of
 * (col0, ncols); each column block may be asked for several times (once per fold and once for
 * the solve). Return 0, or -1 after setting err (the fit agrees on it and stops). Local. */
typedef int (*ridge_fill_fn)(void *ctx, int col0, int ncols, double *rows, bmc_err *err);

/* Phases of ridge_fit timed in ridge_result.phase_s. GRAM: the Gram/covariance product
 * (pdsyrk) and its intercept term; EIG: pdsyevd and the products of the basis (Xc·V, held-out
 * projections, LOO diagonals); LOAD: copying, checking and centring X (and the model's Xc
 * rows), the fill callback (Y I/O) and redistributing Y; SCORE: the projection Qᵀ·Yc and the per-penalty scores;
 * SOLVE: the coefficients with the chosen penalties; SINK: the block sink (the caller's writes
 * and predictions; ridge_fit's copy into the model). */
typedef enum {
    RIDGE_PHASE_GRAM = 0, RIDGE_PHASE_EIG, RIDGE_PHASE_LOAD, RIDGE_PHASE_SCORE,
    RIDGE_PHASE_SOLVE, RIDGE_PHASE_SINK, RIDGE_N_PHASES
} ridge_phase;

/* What the choice produced; every array is global and identical on every rank. */
typedef struct ridge_result {
    int n_alpha, t, n_groups; /* n_groups: tokens (TOKEN), groups (GROUP), 0 (TARGET)        */
    double *scores;        /* n_alpha × t, row-major: LOO/k-fold mean squared error, or GCV */
    double *group_scores;  /* n_alpha × n_groups: mean of the group's column scores         */
    int *best_index;       /* t: index into alphas of the chosen penalty                    */
    double *best_alpha;    /* t                                                             */
    int zero_var_cols;     /* columns of X with zero variance (legal for ridge; reported)   */
    int block_cols;        /* width of the Y column blocks that were used                   */
    int mixed;             /* 1 when the MIXED screen ran (see ridge_precision)             */
    long rescored;         /* MIXED: targets near a tie (partly rescored in float64)        */
    size_t mem_peak;       /* max over ranks of the tracked high-water mark (bytes)         */
    size_t mem_predicted;  /* ridge_memory_predict for the same problem and block width     */
    double phase_s[RIDGE_N_PHASES]; /* wall seconds per ridge_phase, max over ranks
                                     * (folds and blocks summed); for benchmarks   */
} ridge_result;

/* The fitted model in its smaller form. Prediction: Ŷ = X·W + intercept, with W (p × t) in the
 * primal form, or W = Xcᵀ·C (Xc the centred training X, C the n × t dual coefficients). */
typedef struct ridge_model {
    const bmc_grid *grid;
    int n, p, t;
    int dual;              /* 1: dual (n ≤ p), 0: primal                                    */
    double *x_mean;        /* p, global                                                     */
    double *y_mean;        /* t, global                                                     */
    double *intercept;     /* t, global: y_mean − x_mean·W                                  */
    double *coef_rows;     /* primal: this rank's rows bmc_rowblock(p, P, rank) of W (× t);
                            * dual: rows bmc_rowblock(n, P, rank) of C (× t); C order       */
    double *xc_rows;       /* dual only: this rank's rows of Xc (nloc × p, C order)         */
} ridge_model;

/* One solved column block, handed to a ridge_sink_fn: `block` is the model restricted to
 * columns [col0, col0 + block->t) (t = the block's width; coef_rows this rank's rows × t, C
 * order; y_mean and intercept t values; x_mean and xc_rows the whole model's), valid only
 * during the call; best_index (t) the chosen penalty indices of those columns. */
typedef struct ridge_block_out {
    int col0;
    const ridge_model *block;
    const int *best_index;
} ridge_block_out;

/* Consume one solved column block (write it, predict with it). Called on every rank with the
 * same blocks in increasing col0, each column once; may be collective over the grid. Return 0,
 * or -1 after setting err (the fit agrees on it and stops). */
typedef int (*ridge_sink_fn)(void *ctx, const ridge_block_out *out, bmc_err *err);

/* Collective over the grid: the fit of ridge_fit, but each column block's solution goes to
 * `sink` as soon as it is solved and is freed: no array of n·t or p·t is ever held. On
 * success model holds only what is not per column (grid, n, p, t, dual, x_mean, xc_rows;
 * coef_rows, y_mean and intercept NULL), result everything of ridge_fit's (t-sized arrays).
 * The blocks' coefficients are bit-identical to ridge_fit's. Errors as ridge_fit's, and the
 * sink's. */
int ridge_fit_stream(const ridge_problem *pb, const double *x_rows, ridge_fill_fn fill,
                     void *fill_ctx, ridge_sink_fn sink, void *sink_ctx, ridge_result *result,
                     ridge_model *model, bmc_err *err);

/* Collective over the grid. x_rows: this rank's nloc × p rows of X (C order); fill: Y's
 * column blocks. ridge_fit_stream with a sink that collects every block into the model. On
 * success returns 0 and fills result and model (free them with
 * ridge_result_free / ridge_model_free). On invalid input (bad sizes or α grid, NaN/Inf in X
 * or Y, budget too small, eigensolver failure, callback failure) returns -1 with the same err
 * on every rank and nothing to free. */
int ridge_fit(const ridge_problem *pb, const double *x_rows, ridge_fill_fn fill, void *fill_ctx,
              ridge_result *result, ridge_model *model, bmc_err *err);
/* Collective: ridge_fit with Y given as this rank's nloc × t rows (C order). */
int ridge_fit_rows(const ridge_problem *pb, const double *x_rows, const double *y_rows,
                   ridge_result *result, ridge_model *model, bmc_err *err);

/* Collective: ridge_fit_stream with Y given as this rank's nloc × t rows (C order). */
int ridge_fit_rows_stream(const ridge_problem *pb, const double *x_rows, const double *y_rows,
                          ridge_sink_fn sink, void *sink_ctx, ridge_result *result,
                          ridge_model *model, bmc_err *err);

/* Collective: Ŷ for m test rows given as row blocks (rank r holds rows bmc_rowblock(m, P, r)
 * of X_test, C order, × p); y_rows receives the same rows of Ŷ (× t). Returns 0, or -1 with an
 * agreed err (NaN/Inf in x_rows, m < 0). */
int ridge_predict(const ridge_model *model, int m, const double *x_rows, double *y_rows,
                  bmc_err *err);

/* Prediction in column blocks: the left-hand side (X_test, or X_test·Xcᵀ in the dual form,
 * m × n or m × p on the grid) formed once by ridge_predictor_init and applied to any column
 * block of the model by ridge_predict_cols. */
typedef struct ridge_predictor {
    const bmc_grid *grid;
    int m, rows;           /* test rows; rows of the coefficients (dual n, primal p)        */
    bmc_distmat lhs;       /* m × rows on the grid                                          */
    size_t bytes;          /* this rank's bytes held (lhs)                                  */
} ridge_predictor;

/* Collective: the predictor of the model's form for m test rows (rank r holds rows
 * bmc_rowblock(m, P, r) of X_test, C order, × p). Uses the model's x_mean/xc_rows, not its
 * coefficients. Returns 0, or -1 with an agreed err (NaN/Inf in x_rows, m < 1). */
int ridge_predictor_init(ridge_predictor *pr, const ridge_model *model, int m,
                         const double *x_rows, bmc_err *err);
/* Collective: Ŷ of the columns of `cols` (a model or a ridge_block_out's block: its t columns,
 * coef_rows and intercept) into y_rows (this rank's rows × cols->t, C order). */
void ridge_predict_cols(const ridge_predictor *pr, const ridge_model *cols, double *y_rows);
void ridge_predictor_free(ridge_predictor *pr);
/* Local, pure: this rank's bytes of ridge_predictor_init's lhs and the peak bytes it holds
 * while forming it (m test rows of a model of n × p in the given form), and the working bytes
 * per column of ridge_predict_cols (beyond its output). */
size_t ridge_predictor_bytes(const bmc_grid *g, int m, int n, int p, int dual, size_t *peak);
size_t ridge_predict_col_bytes(const bmc_grid *g, int m, int n, int p, int dual);

void ridge_result_free(ridge_result *r);
void ridge_model_free(ridge_model *m);

/* Collective: the predicted peak of ridge_fit's tracked allocations (max over ranks, bytes)
 * for Y column blocks of `block_cols` columns (the result arrays and model included). */
size_t ridge_memory_predict(const ridge_problem *pb, int block_cols);
/* Collective: the same for ridge_fit_stream (no collected model; the sink's
 * pb->sink_col_bytes per block column while it runs). */
size_t ridge_memory_predict_stream(const ridge_problem *pb, int block_cols);
/* Collective: the block width ridge_fit_stream (stream = 1) or ridge_fit (0) picks for pb's
 * budget and max_block_cols (a multiple of RIDGE_COL_QUANTUM when at least that wide and
 * narrower than t); 0 when even one column does not fit. */
int ridge_block_cols(const ridge_problem *pb, int stream);

/* Local: the penalty grid under params[key] of a stage's config. Absent or null: the default
 * grid (RIDGE_DEFAULT_ALPHAS). Otherwise a non-empty list of finite numbers > 0 in strictly
 * increasing order (bmc_cfg_double_list; errors at the config's file:line:col, reading
 * "invalid penalty grid: ..."). On success *alphas (heap; free() it) holds *n_alpha values;
 * returns 0, or -1 with err set and *alphas NULL. */
int ridge_read_alphas(const bmc_cfg_node *params, const char *key, double **alphas,
                      int *n_alpha, bmc_err *err);

/* Local, pure: the penalty choice on a score matrix (n_alpha × t, row-major, lower is better;
 * ties go to the first α, as scikit-learn's strict comparison does). Fills best_index (t) and,
 * when group_scores is not NULL, the n_alpha × ridge_n_groups(pb) group means. The grain fields
 * of pb (grain, token_size, n_groups, group_of, group_weight) must be valid
 * (ridge_check_problem). */
void ridge_select(const ridge_problem *pb, const double *scores, int *best_index,
                  double *group_scores);
/* Number of groups of the granularity (0 for TARGET). */
int ridge_n_groups(const ridge_problem *pb);
/* Local: validate the problem (shapes, α grid, mode, grain); 0 or -1 with err set. */
int ridge_check_problem(const ridge_problem *pb, bmc_err *err);

#endif
