/* plan.h — what bmc-extract-fmri will do: its parameters (params.c) and the resolved plan
 * (plan.c): which sessions and trials, which image each trial shows, which voxels each ROI
 * group holds.
 *
 * Parameters are read on every rank (they are small and errors point at the YAML). The plan
 * is built by rank 0 alone, from the design, the ROI files and the headers of every betas
 * file, and then broadcast, so thousands of ranks do not all open the same small files.
 * Not here: reading betas (ingest.c), averaging (average.c), the output (output.c).
 */
#ifndef BMC_FMRI_PLAN_H
#define BMC_FMRI_PLAN_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "bmc_stage.h"

/* ---- parameters ----------------------------------------------------------------------- */

typedef struct fmri_roi_spec {
    char *file;          /* ROI file stem, e.g. "prf-visualrois"       */
    int all;             /* 1: every label with value > 0              */
    size_t n_labels;     /* else the named labels                      */
    char **labels;
} fmri_roi_spec;

typedef struct fmri_group_spec {
    char *name;
    size_t n_rois;
    fmri_roi_spec *rois;
    int within_nsdgeneral;
} fmri_group_spec;

typedef struct fmri_params {
    const char *nsd_root, *out, *dataset;
    int subject;
    int n_sessions;      /* 0 = every session file present, contiguous from 1 */
    int *sessions;       /* sorted, unique, 1-based (when n_sessions > 0)     */
    int zscore_train;    /* 0 = per session (ddof 0), 1 = train statistics (ddof 1) */
    size_t n_groups;
    fmri_group_spec *groups;
    long block_voxels;   /* voxel columns per exchange block; 0 = from the memory budget */
    int hash_betas;      /* record the SHA-256 of every betas file in `inputs`          */
} fmri_params;

/* Local (every rank): read and check the stage file. Default groups are BrainMCLIP's:
 * `detail` = prf-visualrois ∪ floc-{bodies,faces,places,words}, `semantic` = the four floc
 * files, both within nsdgeneral. 0 or -1 (err points at the YAML). */
int fmri_params_read(const bmc_stage *s, fmri_params *p, bmc_err *err);
void fmri_params_free(fmri_params *p);

/* ---- the plan ------------------------------------------------------------------------- */

typedef struct fmri_group {
    char *name;
    char *rois;          /* "file:label-name" lines; voxel roi k refers to line k */
    int within_nsdgeneral;
    long p;              /* voxels (before invalid ones are dropped)              */
    int64_t *col;        /* [p] column in the union voxel list                    */
    int32_t *label;      /* [p] label value of the voxel in its ROI file          */
    int32_t *roi;        /* [p] index into the rois lines                         */
} fmri_group;

typedef struct fmri_plan {
    int subject;
    int grid[3];              /* X, Y, Z                                                 */
    int n_sessions;
    int32_t *sessions;        /* [n_sessions] 1-based session numbers, ascending          */
    long trials_per_session;  /* T, from the betas files                                 */
    long n_trials;            /* n_sessions · T; plan trial k = session k/T, trial k%T     */
    int64_t *image;           /* [n_trials] 0-based row of the stimuli file              */
    uint8_t *shared;          /* [n_trials] 1 for the shared (test) images               */
    long n_stimuli;           /* rows of the stimuli dataset                             */
    long n_vox;               /* union of every group's voxels                           */
    int64_t *vox;             /* [n_vox] linear index x + X(y + Yz), ascending           */
    size_t n_groups;
    fmri_group *groups;
    char *stimuli_path;
    size_t n_files;           /* small inputs rank 0 read (design, ROIs, ctabs), with    */
    char **files;             /* their SHA-256 (provenance)                              */
    char **files_sha256;
} fmri_plan;

/* Rank 0 only: build the plan. Every user error of the brief is found here: missing design
 * or session file, subject not in the design, betas shape vs ROI grid, images the stimuli
 * file lacks, unknown label names, groups without voxels. 0 or -1. */
int fmri_plan_build(const fmri_params *p, fmri_plan *plan, bmc_err *err);
/* Collective: rank 0's plan to every rank (others pass a zeroed plan). */
void fmri_plan_bcast(fmri_plan *plan, MPI_Comm comm);
void fmri_plan_free(fmri_plan *plan);

/* Record a small input file for provenance (its SHA-256 is computed at the end of
 * fmri_plan_build). */
void fmri_plan_add_file(fmri_plan *plan, const char *path);

/* --check: declare (bmc_stage_declare_read) the files of nsd_root the plan and the run read:
 * the design, the stimuli file (its shape), the ROI files and label tables the groups use,
 * and the betas of the configured sessions (by default every session file present from 1
 * on). One subject's files, never the whole NSD root. Local. */
void fmri_declare_reads(const bmc_stage *s, const fmri_params *p);

/* Betas file of plan session index si (heap string). */
char *fmri_plan_betas_path(const fmri_params *p, const fmri_plan *plan, long si);

#endif
