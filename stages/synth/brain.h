/* brain.h — private interface of `bmc-synth brain`, split by job over three files:
 * brain.c (command line, parameters, input checks, the experimental design, the run),
 * brain_model.c (CLIP feature projections, subject anatomy, voxel model, betas, ground truth)
 * and brain_write.c (NSD's non-HDF5 files: NIfTI, MATLAB v5, CSV, ctab, the stimuli copy).
 * Not here: any other subcommand (synth.h).
 */
#ifndef BMC_SYNTH_BRAIN_H
#define BMC_SYNTH_BRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "bmc_error.h"
#include "bmc_h5io.h"
#include "bmc_stage.h"
#include "synth.h"

#define BRAIN_MAX_SUBJECTS 8   /* NSD's subjects 1..8; subjectim always has 8 rows     */
#define BRAIN_N_ROI_FILES 6    /* nsdgeneral, prf-visualrois, floc-bodies/faces/places/words */
#define BRAIN_MAX_LABELS 8
#define BRAIN_VOXEL_MM 1.8     /* NSD's func1pt8mm                                     */
#define BRAIN_BETA_SCALE 300.0 /* betas on disk = round(300 · PSC)                     */
#define BRAIN_PSC_OFFSET 2.0   /* PSC = 2 + 1.5 · response                             */
#define BRAIN_PSC_GAIN 1.5
#define BRAIN_MIX_SIGNAL_SD 0.3 /* signal sd of nsdgeneral voxels outside every ROI    */

/* Response kinds of a brain voxel (groundtruth /voxels/kind). */
enum { BRAIN_KIND_NOISE = 0, BRAIN_KIND_DETAIL = 1, BRAIN_KIND_SEMANTIC = 2, BRAIN_KIND_MIX = 3 };
/* The two CLIP feature groups that drive voxels. */
enum { BRAIN_DETAIL = 0, BRAIN_SEMANTIC = 1 };

/* Purposes of the counter-based random streams (see brain_rng). */
enum {
    BRAIN_RNG_SELECT = 1, BRAIN_RNG_ORDER, BRAIN_RNG_PROJ_DETAIL, BRAIN_RNG_PROJ_SEMANTIC,
    BRAIN_RNG_GRID, BRAIN_RNG_SHAPE, BRAIN_RNG_VOXEL, BRAIN_RNG_DRIFT, BRAIN_RNG_INVALID_KEY,
    BRAIN_RNG_INVALID_SESSIONS, BRAIN_RNG_NOISE
};

/* One ROI file: its name (nsddata/ppdata/subjXX/func1pt8mm/roi/<name>.nii.gz) and the
 * names of its labels 1..n_labels (the ctab). */
typedef struct brain_roi_file {
    const char *name;
    int n_labels;
    const char *labels[BRAIN_MAX_LABELS];
} brain_roi_file;
extern const brain_roi_file brain_roi_files[BRAIN_N_ROI_FILES];

typedef struct brain_params {
    int n_subjects;
    int subjects[BRAIN_MAX_SUBJECTS];  /* NSD subject numbers 1..8, as listed           */
    long images_per_subject, shared_images, sessions, trials_per_session, repeats;
    long grid[3];                      /* base X, Y, Z                                   */
    long rank;
    double snr, drift, invalid_fraction;
    uint64_t seed;
} brain_params;

/* The experiment, shared by all subjects (NSD: one masterordering for everyone). */
typedef struct brain_design {
    long n_stimuli;          /* N images in the stimuli / features files                  */
    long n_trials;           /* sessions × trials_per_session                             */
    int32_t *masterordering; /* [n_trials], 1-based index into a subject's images        */
    int64_t *subjectim;      /* [8 × images_per_subject] 0-based stimulus ids, -1 for subjects
                                not synthesised (written as 0 in the .mat file)            */
    int64_t *sharedix;       /* [shared_images] 0-based stimulus ids, ascending            */
    int *n_repeats;          /* [images_per_subject] trials per subject image             */
    int max_repeats;
} brain_design;

/* The CLIP features reduced to what the voxels see: A_g (a fixed random [K_g, rank]
 * projection) and P_g = z(F_g) · A_g for every stimulus (row = stimulus id), where z()
 * standardises each feature column over all N images (population sd; constant columns → 0). */
typedef struct brain_features {
    long n;                  /* N                                                          */
    long dim[2];             /* K_detail = T·W, K_semantic = T·D                            */
    double *proj[2];         /* A_g [dim[g], rank]                                          */
    double *projected[2];    /* P_g [n, rank]                                               */
} brain_features;

/* One synthetic subject: anatomy, ROI volumes and the generative model of every brain voxel.
 * Volumes are [X·Y·Z] with x fastest (NIfTI order, and the order of a betas trial slab). */
typedef struct brain_subject {
    int subject;             /* 1..8                                                       */
    int dims[3];             /* X, Y, Z                                                    */
    size_t n_grid;           /* X·Y·Z                                                      */
    int16_t *roi[BRAIN_N_ROI_FILES]; /* -1 outside the brain, 0 not in the ROI, k label k  */
    float *ncsnr;            /* [n_grid] true signal sd / noise sd (0 outside the brain)   */
    long n_brain;            /* voxels inside the brain, in linear order                   */
    int64_t *lin;            /* [n_brain] linear grid index x + X·(y + Y·z)                */
    int32_t *kind;           /* [n_brain] BRAIN_KIND_*                                     */
    double *coef[2];         /* [n_brain × rank] c_v per group (0 when unused)              */
    double *sig_mean, *sig_scale;  /* signal = scale · (P_D c_D + P_S c_S − mean)          */
    double *signal_sd, *noise_sd;  /* [n_brain]                                            */
    double *drift;           /* [n_brain × sessions] additive per-session offset            */
    uint8_t *invalid;        /* [n_brain × sessions] 1: 0 in every trial of that session     */
    long n_invalid;          /* voxels invalid in at least one session                     */
    double *projected[2];    /* [images_per_subject × rank] rows of P_g for its images     */
} brain_subject;

/* Seed g with the stream of (seed, subject, purpose, index); subject 0 = shared by all.
 * Streams never depend on the rank that draws them. */
void brain_rng(bmc_rng *g, uint64_t seed, int subject, int purpose, uint64_t index);

/* ---- brain_model.c ------------------------------------------------------------------ */

/* Collective: read /detail and /semantic of the open bmc.clip file f (N rows, ids[i] the
 * stimulus id of row i, a permutation of 0..N-1) on every rank and build the projections.
 * Every rank does the same arithmetic in the same order, so results are identical for
 * any rank count. Returns an agreed status. */
int brain_features_build(brain_features *bf, bmc_h5 *f, const int64_t *ids, long n,
                         const brain_params *p, bmc_err *err);
void brain_features_free(brain_features *bf);

/* Build subject `subject`'s anatomy, ROI volumes and voxel model (local; deterministic). */
void brain_subject_build(brain_subject *s, int subject, const brain_params *p,
                         const brain_design *d, const brain_features *bf);
void brain_subject_free(brain_subject *s);

/* Betas of global trials [t0, t0 + nt) (all of one session) into out [nt × n_grid]. */
void brain_betas(const brain_subject *s, const brain_params *p, const brain_design *d,
                 long t0, long nt, int16_t *out);

/* Collective over comm: write groundtruth/subjXX.h5 (format bmc.groundtruth) with the
 * provenance `prov`. Rank 0 writes the data. Agreed status. */
int brain_write_groundtruth(MPI_Comm comm, const bmc_provenance *prov, const char *path,
                            const brain_subject *s, const brain_params *p,
                            const brain_design *d, const brain_features *bf, bmc_err *err);

/* ---- brain_write.c (all local; called on rank 0) -------------------------------------- */

/* Write the subject's six ROI files and ncsnr.nii.gz under `dir`
 * (…/ppdata/subjXX/func1pt8mm), and the ctab files under `label_dir`. 0 or -1. */
int brain_write_nifti_rois(const brain_subject *s, const char *dir, const char *label_dir,
                           bmc_err *err);
/* nsd_expdesign.mat (MATLAB v5): masterordering, subjectim, sharedix. 0 or -1. */
int brain_write_expdesign(const char *path, const brain_params *p, const brain_design *d,
                          bmc_err *err);
/* nsd_stim_info_merged.csv. 0 or -1. */
int brain_write_stim_info(const char *path, const brain_params *p, const brain_design *d,
                          bmc_err *err);
/* Byte copy of a file. 0 or -1. */
int brain_copy_file(const char *from, const char *to, bmc_err *err);

#endif
