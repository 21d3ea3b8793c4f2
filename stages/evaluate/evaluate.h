/* evaluate.h — bmc-evaluate's plan (config), its inputs (the train subject's decoders, both
 * subjects' fMRI, the CLIP features), the image sets, the cross-subject alignment and the
 * column-block engine that predicts and accumulates the metrics' sums.
 * The metric definitions are metrics.h; the file layout is docs/FORMATS.md (`bmc.eval`).
 * Not here: the ridge solver (stages/train/ridge.h), pixel metrics of retrieved images (recon.h).
 */
#ifndef BMC_EVALUATE_H
#define BMC_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "bmc_h5io.h"
#include "bmc_stage.h"
#include "metrics.h"

enum { EV_DETAIL = 0, EV_SEMANTIC = 1, EV_FUSED = 2, EV_N_BRANCH = 3 };
typedef enum { EV_RESCALE_NONE = 0, EV_RESCALE_TEST = 1, EV_RESCALE_TRAIN = 2 } ev_rescale;

extern const char *const ev_branch_name[EV_N_BRANCH]; /* "detail", "semantic", "fused" */
extern const char *const ev_rescale_name[3];           /* "none", "test", "train"       */

typedef struct ev_plan {
    const char **models;        /* n_models paths (array owned, strings in the config)   */
    size_t n_models;
    const char **cohort;        /* n_cohort paths, may be 0                               */
    size_t n_cohort;
    const char *train_fmri, *test_fmri, *features, *stimuli; /* stimuli may be NULL      */
    const char *out_eval, *out_json, *out_montage, *out_predictions; /* last two optional */
    long long train_subject, test_subject;
    const char *mapping[2];     /* decoder names of the detail and semantic branches      */
    double fusion_weight;       /* w: fused = w·detail + (1 − w)·semantic                 */
    ev_rescale rescale;
    long align_images;
    uint64_t align_seed;
    double *align_alphas;
    int n_align_alpha;
    long way, draws;
    uint64_t seed;
    int gallery_unseen;         /* 0: not_test, 1: unseen                                 */
    long montage_images;
    ssim_mode ssim;
    size_t mem_per_rank;
} ev_plan;

/* Local: read and check inputs, outputs and params. 0 or -1 with err (caller agrees). */
int ev_read_plan(const bmc_stage *s, ev_plan *p, bmc_err *err);
void ev_free_plan(ev_plan *p);

/* ---- inputs (inputs.c) --------------------------------------------------------------- */

/* One decoder of the train subject (a /mappings/<name> group of a bmc.model file). */
typedef struct ev_decoder {
    const char *mapping;        /* the plan's name                                        */
    int file;                   /* index into the opened model files                      */
    char group[128];            /* /mappings/<name>                                       */
    char x_group[128], y_dataset[128];
    int n, p, t, tokens, width, y_ndims, dual;
    int *voxel_index;           /* p                                                      */
    double *voxel_scale;        /* p                                                      */
    int *token_index;           /* tokens: file token behind each block of width targets  */
    double *intercept, *y_train_mean, *y_train_std, *pred_train_mean, *pred_train_std; /* t */
} ev_decoder;

/* Everything opened and matched before any output exists. */
typedef struct ev_inputs {
    bmc_h5 *model;              /* n_models files                                         */
    size_t n_models;
    bmc_h5 train, test, feat;   /* train/test: the same handle content when within-subject */
    int cross;                  /* train subject ≠ test subject                           */
    ev_decoder dec[2];          /* EV_DETAIL, EV_SEMANTIC                                 */
    long m, k, G;               /* evaluation, alignment and gallery images               */
    long long *eval_ids, *align_ids, *gallery_ids; /* sorted                              */
    long *eval_frow, *gallery_frow; /* feature row of each                                */
    long *eval_test_row, *align_test_row, *align_train_row; /* /test rows in the fMRI files */
} ev_inputs;

/* Collective: open every file, check formats, subjects, decoders, groups and features,
 * and build the image sets (docs/FORMATS.md `bmc.eval`). Agreed status; on failure the
 * caller still calls ev_inputs_close. */
int ev_inputs_open(ev_inputs *in, MPI_Comm comm, const ev_plan *p, bmc_err *err);
void ev_inputs_close(ev_inputs *in);

/* ---- X: the fMRI rows the decoders see (crosssubject.c) ------------------------------ */

/* Collective: xg[b] (m × group voxels, double, on every rank) for the x_group of branch b:
 * the test subject's rows of the evaluation images, mapped to the train subject's voxels by
 * the alignment ridge when cross-subject (fitted on rank 0 alone, so the result is the
 * same for any rank count). alpha_out[b]: chosen penalty per train-subject voxel (cross
 * only, else NULL); pg[b] = the group's voxel count. Branches sharing a group share arrays
 * (xg[1] == xg[0]). Agreed status. */
int ev_fmri_rows(const ev_plan *p, ev_inputs *in, MPI_Comm comm, double *xg[2],
                 double *alpha_out[2], int pg[2], bmc_err *err);

/* ---- the column-block engine (predict.c) --------------------------------------------- */

/* The reduced sums of one branch (rank 0 holds them after ev_predict_branch). */
typedef struct ev_sums {
    long m, G;
    double *rp;                 /* m × m: Σ_c real[i,c]·pred[j,c]                          */
    double *pg;                 /* m × G: Σ_c pred[i,c]·gallery[g,c]                       */
    double *sum_p, *sum_r, *ss_p, *ss_r; /* m: row sums and sums of squares              */
    double *ss_g;               /* G                                                      */
    double *cos_global;         /* m: cosine of the first selected token                  */
    double sum_pearson, sum_r2; /* Σ over targets of Pearson r and R² (block order)       */
    long cols;                  /* targets summed over                                    */
} ev_sums;

/* Collective: predict branch b's targets for the evaluation images in column blocks (a fixed
 * decomposition independent of the rank count, blocks dealt round-robin), rescale, write
 * per-target Pearson r and R² into out (/<b>/pearson, /<b>/r2, created here) and, when
 * pred_out is open, the predictions (/<branch>); the per-block sums are added on rank 0 in
 * block order, so *sums is bit-identical for any rank count. xg: the branch's fMRI rows
 * (m × pg). Agreed status. */
int ev_predict_branch(const ev_plan *p, ev_inputs *in, int b, const double *xg, int pg,
                      bmc_h5 *out, bmc_h5 *pred_out, MPI_Comm comm, ev_sums *sums,
                      bmc_err *err);
void ev_sums_free(ev_sums *s);

/* ---- scores and outputs (report.c) ---------------------------------------------------- */

/* The per-image and summary results of one branch (all three on every rank). */
typedef struct ev_scores {
    double *S;                  /* m × m: S[i, j] = cos(pred_i, real_j)                   */
    double *R;                  /* m × m: R[i, j] = corr(real_i, pred_j)                  */
    double *Q;                  /* m × G: cos(pred_i, gallery_g)                          */
    double *cos_global, *cos_all, *two_way; /* m                                          */
    double *ret_image, *ret_brain;          /* draws                                      */
    uint8_t *hit_image, *hit_brain;         /* draws × way_used: per drawn item, 1 = hit  */
    long long *retrieved;       /* m: gallery image id                                    */
    double *pixcorr, *ssim;     /* m, or NULL without stimuli                             */
    metric_interval image, brain;
    double mean_cos_global, mean_cos_all, mean_two_way, mean_pixcorr, mean_ssim;
    double mean_pearson, mean_r2; /* detail/semantic only (NaN for fused)                 */
} ev_scores;

/* Collective: the scores of the three branches from the sums on rank 0 (broadcast), with the
 * retrieval draws split over ranks. */
void ev_score(const ev_plan *p, const ev_inputs *in, ev_sums sums[2], MPI_Comm comm,
              ev_scores sc[EV_N_BRANCH]);
void ev_scores_free(ev_scores *s);

/* Collective: write the scores into the eval file (datasets and attributes). */
int ev_write_eval(const ev_plan *p, const ev_inputs *in, const ev_scores sc[EV_N_BRANCH],
                  bmc_h5 *out, bmc_err *err);
/* Collective (rank 0 writes): the JSON summary as path.partial (renamed by the caller). */
int ev_write_json(const ev_plan *p, const ev_inputs *in, const ev_scores sc[EV_N_BRANCH],
                  const char *partial_path, MPI_Comm comm, bmc_err *err);

#endif
