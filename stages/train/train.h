/* train.h — bmc-train's plan (config → mappings), its inputs (X = an fMRI voxel group, Y = a
 * CLIP feature dataset matched by image id), the encoding models and the model file writer.
 * The solver itself is ridge.h; the file layout is docs/FORMATS.md (`bmc.model`).
 * Not here: the ridge algebra (common/ridge), prediction on test subjects (bmc-evaluate).
 */
#ifndef BMC_TRAIN_H
#define BMC_TRAIN_H

#include <stddef.h>

#include "bmc_h5io.h"
#include "bmc_stage.h"
#include "ridge.h"

enum { VOXW_NONE = 0, VOXW_WEIGHT = 1, VOXW_SELECT = 2 };

/* One decoder: fMRI group → CLIP dataset (optionally a subset of its tokens). */
typedef struct train_mapping {
    const char *name, *x_group, *y_dataset; /* point into the config (or static defaults) */
    const bmc_cfg_node *tokens;             /* list, {start, stop} or NULL (all)          */
    int run;                                /* 1: selected by `only` (or no `only`)       */
} train_mapping;

typedef struct train_plan {
    const char *fmri, *features, *model, *maps, *reference; /* maps/reference may be NULL */
    train_mapping *map;
    int n_map;
    double *alphas;
    int n_alpha;
    ridge_mode mode;
    int kfold;
    ridge_grain grain;
    ridge_precision precision; /* LOO scoring arithmetic (score_precision)                */
    double global_weight, fine_weight;
    size_t mem_per_rank;
    int nprow, npcol;
    int encoding;        /* fit the encoding maps                                         */
    int voxel_weighting; /* VOXW_*                                                       */
    double r2_threshold;
    bmc_dtype dtype;     /* on-disk type of W, dual_coef, X_train_centred                 */
} train_plan;

/* Read and check inputs, outputs and params (plan.c; local, the caller agrees). */
int train_read_plan(const bmc_stage *s, train_plan *p, bmc_err *err);
void train_free_plan(train_plan *p);

/* ---- inputs ----------------------------------------------------------------------------- */

/* Both input files, open, with their image ids and the row matching. */
typedef struct train_inputs {
    bmc_h5 fmri, feat;
    const char *fmri_path, *feat_path;
    long n_train, n_test, n_feat;
    long long *train_ids, *test_ids;  /* fMRI rows' image ids                            */
    long *train_frow, *test_frow;     /* feature row of each fMRI row (-1 if absent)     */
    long grid[3];                     /* subject grid (X, Y, Z)                          */
    long long subject;
} train_inputs;

/* Collective: open both files (format check), read the ids and match them. Test ids need
 * not be present (need_test = 0); train ids must be. Agreed status. */
int train_inputs_open(train_inputs *in, MPI_Comm comm, const char *fmri, const char *features,
                      int need_test, bmc_err *err);
void train_inputs_close(train_inputs *in);

/* One fMRI group loaded: this rank's row blocks of the train and test matrices (double). */
typedef struct train_group {
    const char *name;
    int p;                 /* voxels                                                     */
    long row0, nloc;       /* train rows of this rank                                    */
    long trow0, tnloc;     /* test rows of this rank                                     */
    double *x, *xt;        /* nloc × p, tnloc × p (C order)                              */
    int *ijk;              /* p × 3                                                      */
    int *roi;              /* p: index into rois                                         */
    char *rois;            /* newline-separated ROI names (heap)                         */
    int n_rois;
} train_group;

/* Collective: load group `name` (train rows; test rows too when with_test), check that it
 * exists and has voxels, values are finite and no voxel is constant over the training
 * images. Agreed status; on failure nothing to free. */
int train_group_load(train_inputs *in, const char *name, int with_test, train_group *g,
                     bmc_err *err);
void train_group_free(train_group *g);

/* Reader of a CLIP dataset's columns for a set of fMRI rows (the ridge fill callback). */
typedef struct feat_reader {
    train_inputs *in;
    char dset[256];
    int T, W;              /* file tokens (1 for a 2-D dataset) and width                */
    int ndims;
    int n_tok;             /* selected tokens                                            */
    int *tok;              /* file index of each selected token                          */
    long nloc;             /* rows of this rank                                          */
    const long *frow;      /* feature row of each local row                              */
    const long long *ids;  /* image id of each local row (for messages)                  */
    size_t cap;            /* read buffer capacity (floats)                              */
    float *buf;
} feat_reader;

/* Collective: check the dataset and the token selection, set up the reader for local rows
 * frow[0..nloc) (ids for messages). Agreed status. */
int feat_reader_open(feat_reader *r, train_inputs *in, const char *dataset,
                     const bmc_cfg_node *tokens, long nloc, const long *frow,
                     const long long *ids, size_t mem_cap, bmc_err *err);
void feat_reader_close(feat_reader *r);
/* The ridge_fill_fn: rows of columns [col0, col0+ncols) of the flattened (token, width).
 * Collective over the communicator (every rank calls it with the same blocks); agreed. */
int feat_reader_fill(void *ctx, int col0, int ncols, double *rows, bmc_err *err);
static inline int feat_reader_cols(const feat_reader *r) { return r->n_tok * r->W; }

/* ---- encoding (encoding.c) ------------------------------------------------------------ */

typedef struct encoding_result {
    char *name;            /* "<clip dataset>_to_<fmri group>"                           */
    const char *dataset, *group;
    int p_vox;
    double *r2;            /* p_vox: held-out R² per voxel (NaN when the test is constant) */
    double *alpha;         /* p_vox: chosen penalty per voxel                            */
    double mean_r2;        /* mean of the finite R² values                               */
    double *roi_r2;        /* n_rois: mean R² of the ROI's voxels (NaN for none)         */
    long long *roi_n;      /* n_rois                                                     */
    int n_rois;
    const char *rois;      /* not owned (the group's)                                    */
    int n_train, n_test, n_features;
} encoding_result;

/* Collective: fit CLIP dataset → fMRI group on the training rows, score on the test rows. */
int encoding_fit(const train_plan *p, const bmc_grid *grid, train_inputs *in,
                 const train_group *g, const char *dataset, const bmc_cfg_node *tokens,
                 encoding_result *res, bmc_err *err);
void encoding_result_free(encoding_result *r);
/* Collective (rank 0 writes): the R² map as a NIfTI-1 float32 volume on the subject grid,
 * NaN outside the group. reference: NIfTI whose geometry is copied, or NULL. */
int encoding_write_nifti(const char *path, const train_inputs *in, const train_group *g,
                         const encoding_result *res, const char *reference, MPI_Comm comm,
                         bmc_err *err);

/* ---- the model file (model_io.c) -------------------------------------------------------- */

/* Everything written for one decoder besides the ridge result and model. */
typedef struct decoder_out {
    const train_mapping *m;
    const feat_reader *fr;
    int n, p, t;
    const int *voxel_index;     /* p                                                     */
    const double *voxel_scale;  /* p                                                     */
    const long long *train_ids; /* n (global)                                            */
    double *y_train_mean, *y_train_std, *pred_train_mean, *pred_train_std; /* t          */
} decoder_out;

/* The model writer of one decoder, the ridge_sink_fn of its fit (ridge_fit_stream): every
 * solved column block goes to the file at once (its rows of W or dual_coef, y_mean, intercept,
 * alpha) and its Brain-Diffuser statistics (training targets read again, training predictions)
 * into o's t-sized arrays; nothing of n·t or p·t is kept. */
typedef struct decoder_sink {
    bmc_h5 *f;
    const train_plan *p;
    decoder_out *o;
    feat_reader *fr;
    const double *x_rows;  /* the training X the model is fitted on (this rank's rows)     */
    ridge_predictor pred;  /* training predictions, formed at the first block              */
    int have_pred;
} decoder_sink;

/* Collective: the per-column datasets of decoder o (W or dual_coef, y_mean, intercept, alpha)
 * created before its fit. */
int model_decoder_create(bmc_h5 *f, const train_plan *p, const decoder_out *o, int dual,
                         bmc_err *err);
/* The ridge_sink_fn (ctx: decoder_sink). Collective. */
int decoder_sink_block(void *ctx, const ridge_block_out *out, bmc_err *err);
void decoder_sink_free(decoder_sink *ds);
/* Local: this rank's bytes the sink uses per block column while it runs (the solver's
 * sink_col_bytes), and what it keeps from its first block on (the training predictor; *peak:
 * while forming it) for n training rows × p features in the given form. */
size_t decoder_sink_col_bytes(const bmc_grid *g, int n, int p, int dual);
size_t decoder_sink_fixed_bytes(const bmc_grid *g, int n, int p, int dual, size_t *peak);
/* ---- the whole-stage memory model (memplan.c) ------------------------------------------ */

/* What the stage holds beside the solver while one decoder is fitted. */
typedef struct train_stage_shape {
    long n_train, n_test;  /* images                                                      */
    long group_voxels;     /* voxels of every loaded fMRI group together                  */
    int with_test;         /* encoding maps on: the groups' test rows are loaded too      */
    int group_p, p, t;     /* the decoder's group voxels, its features (kept voxels), targets */
    size_t reader_bytes;   /* the CLIP reader's buffer                                    */
} train_stage_shape;

/* The runtime's own resident memory (MPI, HDF5, BLAS, the executable and its heap), measured
 * as bmc-train's peak RSS on a 100 × 200 × 768 problem (50 MiB with Open MPI 4.1, 1 rank),
 * less its arrays. */
#define TRAIN_RUNTIME_BYTES ((size_t)48 << 20)

/* Local: the bytes per rank the stage holds beside the solver (its budget is mem_per_rank
 * less this; the training predictor's lhs included), in *sink_col the model writer's bytes
 * per block column and in *sink_setup what forming the predictor holds on top of its lhs at
 * the first block (the solver's sink_col_bytes and sink_setup_bytes). */
size_t train_stage_bytes(const bmc_grid *g, const train_stage_shape *sh, size_t *sink_col,
                         size_t *sink_setup);

/* Collective: root attributes of the model file (besides format and provenance). */
int model_write_root(bmc_h5 *f, const train_plan *p, const train_inputs *in, bmc_err *err);
/* Collective: /mappings/<name>/… besides what the sink wrote (after the fit). */
int model_write_decoder(bmc_h5 *f, const train_plan *p, const decoder_out *o,
                        const ridge_result *rr, const ridge_model *md, bmc_err *err);
/* Collective: /encoding/<name>/… */
int model_write_encoding(bmc_h5 *f, const encoding_result *e, bmc_err *err);

/* Collective helper: rank 0 writes a whole 1-D/2-D array (others pass their copy too). */
int train_write_global(bmc_h5 *f, const char *name, bmc_dtype ft, bmc_dtype mt, int ndims,
                       const hsize_t *dims, const void *data, bmc_err *err);

#endif
