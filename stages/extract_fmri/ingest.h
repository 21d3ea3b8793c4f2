/* ingest.h — each rank's share of the betas: read, masked to the group voxels, checked for
 * invalid voxels, and the z-scoring statistics (DESIGN.md §3, NSD ingest rules).
 *
 * Sessions are split over ranks in row blocks (bmc_rowblock over the plan's sessions). A
 * rank keeps the raw int16 values of its trials and of the union voxels only (2 bytes per
 * trial and voxel: 30 MB per NSD session of 20 000 voxels); values are betas / 300 in
 * float64 whenever they are used. Not here: averaging repeats (average.c).
 */
#ifndef BMC_FMRI_INGEST_H
#define BMC_FMRI_INGEST_H

#include <mpi.h>
#include <stdint.h>

#include "bmc_fingerprint.h"
#include "plan.h"

typedef struct fmri_ingest {
    long s0, ns;              /* plan sessions [s0, s0 + ns) of this rank                 */
    long T;                   /* trials per session                                       */
    long k0, n_local;         /* plan trials [k0, k0 + n_local) = sessions s0.. · T       */
    long n_vox;
    long n_cols;              /* columns of raw/mean/sd: n_vox, or n_valid once compacted */
    int16_t *raw;             /* [n_local][n_cols] raw betas of the union voxels          */
    uint8_t *invalid;         /* [n_vox] 1: 0 in every trial of some used session (agreed) */
    long n_invalid;           /* over all ranks                                           */
    long n_constant;          /* valid voxels of zero variance (their z-scores are 0)      */
    int train;                /* statistics mode                                          */
    double *mean, *sd;        /* session mode [ns][n_cols]; train mode [n_cols]; sd is +inf
                                 where the variance is 0, so those z-scores are (±)0       */
    char (*sha)[BMC_SHA256_HEX]; /* [ns] SHA-256 of each betas file ("" when not hashed)  */
    double bytes, seconds;    /* betas bytes read by this rank and the time it took       */
} fmri_ingest;

/* Collective: read this rank's sessions, mark invalid voxels and agree on them over comm.
 * Logs one line per session. Returns an agreed status (0, or -1 with err on every rank). */
int fmri_ingest_read(const fmri_params *p, const fmri_plan *plan, MPI_Comm comm,
                     fmri_ingest *in, bmc_err *err);

/* Collective: z-scoring statistics. Session mode: each session's mean and population sd
 * (ddof 0) over its trials. Train mode: mean and sample sd (ddof 1) over every non-shared
 * trial of every used session (error when there are fewer than 2). Sums of the raw
 * integers are exact (int64), so the statistics do not depend on the rank count. */
int fmri_ingest_stats(const fmri_plan *plan, int train, MPI_Comm comm, fmri_ingest *in,
                      bmc_err *err);

/* Local: keep only the columns valid[0..n_valid) (ascending union columns) of raw, mean and
 * sd, so that z-scores are computed over contiguous columns. Sets n_cols. */
void fmri_ingest_compact(fmri_ingest *in, const int64_t *valid, long n_valid);

/* Local: z-scores (raw/300 − mean)/sd of local trial i, compacted columns [c0, c0 + w), into
 * out; 0 where the variance is 0. The same arithmetic on every rank, in every layout. */
void fmri_zscore_row(const fmri_ingest *in, long i, long c0, long w, double *out);

void fmri_ingest_free(fmri_ingest *in);

#endif
