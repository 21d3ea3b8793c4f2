/* average.h — z-scored trials → one row per image (repeats averaged), distributed in the
 * row blocks the output is written in.
 *
 * Rows are the training images (ascending id) followed by the test (shared) images
 * (ascending id); rank r owns rows bmc_rowblock(n_rows, size, r). Every trial's z-scores go
 * to the owner of its image's row (MPI_Alltoallv, in blocks of voxel columns), and the owner
 * adds the repeats in ascending trial order, so every value is bit-identical on any number
 * of ranks. Not here: reading and statistics (ingest.c), writing (output.c).
 */
#ifndef BMC_FMRI_AVERAGE_H
#define BMC_FMRI_AVERAGE_H

#include <mpi.h>
#include <stdint.h>

#include "ingest.h"
#include "plan.h"

typedef struct fmri_rows {
    long n_train, n_test, n_rows;  /* n_rows = n_train + n_test                          */
    int64_t *ids;                  /* [n_rows] image ids: train ascending, then test      */
    int32_t *n_repeats;            /* [n_rows] trials averaged into each row              */
    long *row_of_trial;            /* [n_trials] row of each plan trial                   */
    long r0, nr;                   /* this rank's rows                                    */
    long n_valid;                  /* voxels kept (union minus invalid)                   */
    int64_t *valid;                /* [n_valid] union columns of the kept voxels          */
    float *avg;                    /* [nr][n_valid] mean z-score over repeats             */
} fmri_rows;

/* Local and deterministic (same result on every rank): rows, repeats and kept columns. */
void fmri_rows_build(const fmri_plan *plan, const fmri_ingest *in, int size, int rank,
                     fmri_rows *rows);

/* Collective: fill rows->avg. Compacts `in` to the kept columns first (fmri_ingest_compact).
 * block_voxels columns per exchange (0: as many as fit a 32 MiB budget for each of the
 * send, receive and sum buffers). */
void fmri_rows_average(const fmri_plan *plan, fmri_ingest *in, long block_voxels,
                       MPI_Comm comm, fmri_rows *rows);

void fmri_rows_free(fmri_rows *rows);

#endif
