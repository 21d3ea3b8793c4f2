/* memplan.c — bmc-train's whole-stage memory model: the bytes per rank the stage holds beside
 * the solver (the loaded fMRI groups, the decoder's X, the CLIP reader's buffer, the t-sized
 * statistics, the training predictor of the model writer, a fixed allowance for the runtime:
 * MPI, HDF5, BLAS and the executable), so that the solver's budget is what is left of
 * mem_per_rank. The same functions size a real run (main.c) and the dry run (plan_run.c).
 * Not here: the solver's own working set (ridge_memory_predict_stream), the fits.
 */
#include "bmc_grid.h"
#include "train.h"

/* Local: rows of this rank of an n-row split (bmc_rowblock). */
static size_t local_rows(const bmc_grid *g, long n) {
    long r0, nr;
    bmc_rowblock(n, g->size, g->rank, &r0, &nr);
    return (size_t)nr;
}

size_t train_stage_bytes(const bmc_grid *g, const train_stage_shape *sh, size_t *sink_col,
                         size_t *sink_setup) {
    const size_t d = sizeof(double), t = (size_t)sh->t, gv = (size_t)sh->group_voxels;
    size_t nloc = local_rows(g, sh->n_train), tloc = sh->with_test ? local_rows(g, sh->n_test) : 0;
    size_t groups = (nloc + tloc) * gv * d + gv * (3 * sizeof(int) + sizeof(int));
    size_t ids = (size_t)(sh->n_train + sh->n_test) * (sizeof(long long) + sizeof(long));
    size_t decoder = nloc * (size_t)sh->p * d + (size_t)sh->group_p * (sizeof(int) + d);
    size_t stats = 4 * t * d + t * sizeof(int); /* y/pred train mean and sd, group_of */
    int dual = sh->n_train <= sh->p;
    size_t pred_peak = 0;
    size_t pred = decoder_sink_fixed_bytes(g, (int)sh->n_train, sh->p, dual, &pred_peak);
    if (sink_col) *sink_col = decoder_sink_col_bytes(g, (int)sh->n_train, sh->p, dual);
    if (sink_setup) *sink_setup = pred_peak > pred ? pred_peak - pred : 0;
    return TRAIN_RUNTIME_BYTES + groups + ids + decoder + sh->reader_bytes + stats + pred;
}
