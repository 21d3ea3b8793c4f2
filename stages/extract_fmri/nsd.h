/* nsd.h — readers of NSD's own files, exactly as NSD distributes them (docs/FORMATS.md,
 * "NSD's own files"): the experimental design (.mat), ROI volumes (NIfTI) and their label
 * tables (.ctab), single-trial betas (HDF5) and the stimuli file's image count.
 *
 * Every reader is local (one process, no MPI) and reports a bad file through bmc_err with
 * a message that names the file (and dataset/variable) and a hint. Not here: what the
 * stage does with the data (plan.c, ingest.c, average.c).
 */
#ifndef BMC_FMRI_NSD_H
#define BMC_FMRI_NSD_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "bmc_error.h"

/* ---- paths under the NSD root (heap strings; caller frees) ---------------------------- */

char *nsd_design_path(const char *root);
char *nsd_stimuli_path(const char *root);
char *nsd_betas_path(const char *root, int subject, int session);
/* ROI volume `name` (e.g. "prf-visualrois"): <name>.nii.gz, or <name>.nii when only that
 * exists. */
char *nsd_roi_path(const char *root, int subject, const char *name);
char *nsd_ctab_path(const char *root, int subject, const char *name);

/* ---- nsd_expdesign.mat ----------------------------------------------------------------- */

typedef struct nsd_design {
    long n_order;        /* length of masterordering (trials of the whole experiment)      */
    int64_t *order;      /* masterordering: 1-based column of subjectim for every trial    */
    long n_subjects;     /* rows of subjectim                                              */
    long n_images;       /* columns of subjectim (images per subject)                      */
    int64_t *subjectim;  /* row-major [n_subjects][n_images]: 1-based ids into the stimuli */
    long n_shared;       /* length of sharedix: columns 1..n_shared are the shared images  */
} nsd_design;

/* Read masterordering, subjectim and sharedix (any real numeric class, values must be
 * integers; vectors may be 1×n or n×1). Shapes and ranges are checked: every masterordering
 * value in 1..n_images, n_shared ≤ n_images. 0 or -1 (err names the file and variable). */
int nsd_design_read(const char *path, nsd_design *d, bmc_err *err);
/* Check a MATLAB v5/v7 file's structure before matio reads it (mat_scan.c): every tag,
 * dimension and element count must fit the bytes that hold it (the file, the enclosing
 * element, a compressed variable's inflated stream of at most 256 MiB). 0, or -1 with an
 * error naming the file. v7.3 (HDF5) files pass unchecked. Local. */
int nsd_mat_scan(const char *path, bmc_err *err);
void nsd_design_free(nsd_design *d);

/* ---- <roi>.mgz.ctab -------------------------------------------------------------------- */

typedef struct nsd_ctab {
    size_t n;
    int *value;   /* label values, in file order */
    char **name;  /* label names                 */
} nsd_ctab;

/* Lines `value name [anything]`; blank lines and lines starting with '#' are skipped.
 * A malformed line or a duplicate value is an error naming the file and line. */
int nsd_ctab_read(const char *path, nsd_ctab *c, bmc_err *err);
void nsd_ctab_free(nsd_ctab *c);
/* Index of `name` in the table, -1 when absent. */
long nsd_ctab_find(const nsd_ctab *c, const char *name);
/* Index of label value `value`, -1 when absent. */
long nsd_ctab_find_value(const nsd_ctab *c, int value);
/* "V1v, V1d, ..." (heap string): the names with value > 0, for error messages. */
char *nsd_ctab_names(const nsd_ctab *c);

/* ---- ROI volumes (NIfTI-1 or NIfTI-2, .nii or .nii.gz) --------------------------------- */

typedef struct nsd_volume {
    int dims[3];   /* X, Y, Z                                      */
    int32_t *v;    /* [Z][Y][X]: voxel (x, y, z) at x + X·(y + Y·z) */
} nsd_volume;

/* Read a 3-D volume of any integer or float type (scaling applied when the header has one);
 * every value must be an integer (labels). 0 or -1. */
int nsd_volume_read(const char *path, nsd_volume *vol, bmc_err *err);
void nsd_volume_free(nsd_volume *vol);

/* ---- betas_sessionNN.hdf5 and the stimuli file (serial HDF5, sec2 driver) -------------- */

typedef struct nsd_betas {
    hid_t fid, did;   /* H5I_INVALID_HID when closed */
    long dims[4];     /* trials, Z, Y, X             */
    char *path;
} nsd_betas;

/* Open `path`:/betas read-only; it must be a 4-D integer dataset of at most 2 bytes per
 * element (NSD: int16). */
int nsd_betas_open(const char *path, nsd_betas *b, bmc_err *err);
/* The shape must be (trials, Z, Y, X) for the ROI grid (X, Y, Z) of `grid_file`; the error
 * gives both shapes and a hint about axis order. */
int nsd_betas_check_grid(const nsd_betas *b, const int grid[3], const char *grid_file,
                         bmc_err *err);
/* Read trials [t0, t0+nt) and planes z ∈ [z0, z0+nz) (whole Y and X) into buf
 * ([nt][nz][Y][X] int16). */
int nsd_betas_read(nsd_betas *b, long t0, long nt, long z0, long nz, int16_t *buf,
                   bmc_err *err);
void nsd_betas_close(nsd_betas *b);

/* Number of rows (dimension 0) of `path`:/`dataset`. */
int nsd_h5_rows(const char *path, const char *dataset, long *n, bmc_err *err);

#endif
