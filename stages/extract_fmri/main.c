/* main.c — bmc-extract-fmri: one NSD subject's betas → per-image voxel matrices of ROI groups.
 *
 * Rank 0 plans (design, ROIs, the header of every betas file; every input error is found
 * there, before any output exists) and broadcasts the plan; sessions are split over ranks,
 * each rank reads and masks its own, invalid voxels are agreed, z-scoring statistics are
 * computed (exactly, so on any rank count they are the same), repeats are averaged on the
 * owner of each output row, and the file is written collectively and atomically.
 * Output layout: docs/FORMATS.md (`bmc.fmri`). Not here: the readers (nsd.c, nsd_volume.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "average.h"
#include "bmc_log.h"
#include "bmc_stage.h"
#include "ingest.h"
#include "output.h"
#include "plan.h"

static const char usage[] =
    "usage: bmc-extract-fmri --config STAGE.yaml\n"
    "\n"
    "One NSD subject's single-trial betas -> z-scored, repeat-averaged voxel matrices of ROI\n"
    "groups (BrainMCLIP's fMRI-Detail and fMRI-Semantic), sessions split over MPI ranks.\n"
    "\n"
    "inputs:\n"
    "  nsd_root       NSD's root folder (nsddata/, nsddata_betas/, nsddata_stimuli/)\n"
    "outputs:\n"
    "  fmri           the HDF5 file to write (format bmc.fmri, see docs/FORMATS.md)\n"
    "params:\n"
    "  subject        1..8 (required)\n"
    "  sessions       n (sessions 1..n) or a list (default: every betas_sessionNN.hdf5\n"
    "                 present, contiguous from 1)\n"
    "  zscore         session (each session's mean and population sd; default) or train\n"
    "                 (mean and sample sd over the training trials, applied to all)\n"
    "  groups         {name: {rois: [{file: STEM, labels: all | [names]}, ...],\n"
    "                 within_nsdgeneral: true}} (default: detail = prf-visualrois +\n"
    "                 floc-bodies/faces/places/words, semantic = the four floc files)\n"
    "  dataset        stimuli dataset whose rows the image ids index (default imgBrick)\n"
    "  block_voxels   voxel columns per exchange block (default: from a 32 MiB budget)\n"
    "  hash_betas     record each betas file's SHA-256 in the provenance (default true)\n";

/* Every group must keep at least one voxel once invalid voxels are dropped. */
static int check_groups_kept(const fmri_plan *plan, const fmri_ingest *in,
                             const fmri_rows *rows, bmc_err *err) {
    for (size_t i = 0; i < plan->n_groups; i++) {
        long *kept = NULL;
        long n = fmri_group_kept(&plan->groups[i], in, rows, &kept);
        free(kept);
        bmc_log_info("group %s: %ld voxels (%ld invalid dropped)", plan->groups[i].name, n,
                     plan->groups[i].p - n);
        if (n == 0)
            return bmc_err_set(err, "every voxel of the group is 0 in every trial of some "
                                    "session; check the betas files or the group's ROIs",
                               "group '%s' has no valid voxels (all %ld are invalid)",
                               plan->groups[i].name, plan->groups[i].p);
    }
    return 0;
}

int main(int argc, char **argv) {
    bmc_stage s;
    bmc_stage_begin(&s, argc - 1, argv + 1, "bmc-extract-fmri", usage);
    bmc_err err = {0};
    fmri_params p;
    fmri_plan plan;
    memset(&plan, 0, sizeof plan);
    if (fmri_params_read(&s, &p, &err) == 0 && s.checking) fmri_declare_reads(&s, &p);
    if (s.checking) {
        bmc_err_exit_if_any(s.comm, &err);
        bmc_stage_checked(&s);
    }
    if (!err.failed && s.rank == 0) fmri_plan_build(&p, &plan, &err);
    if (bmc_err_agree(s.comm, &err)) {
        fmri_plan_free(&plan);
        fmri_params_free(&p);
        bmc_err_exit_if_any(s.comm, &err);
    }
    fmri_plan_bcast(&plan, s.comm);
    bmc_log_info("subject %02d: grid %dx%dx%d, %d session%s x %ld trials, %ld voxels in %zu "
                 "group%s, %s z-scoring",
                 plan.subject, plan.grid[0], plan.grid[1], plan.grid[2], plan.n_sessions,
                 plan.n_sessions == 1 ? "" : "s", plan.trials_per_session, plan.n_vox,
                 plan.n_groups, plan.n_groups == 1 ? "" : "s",
                 p.zscore_train ? "train-statistics" : "per-session");

    fmri_ingest in;
    fmri_rows rows;
    memset(&rows, 0, sizeof rows);
    double t0 = bmc_now();
    int rc = fmri_ingest_read(&p, &plan, s.comm, &in, &err);
    if (!rc) {
        double io[2] = {in.bytes, in.seconds}, tot[2];
        BMC_MPI(MPI_Reduce(io, tot, 2, MPI_DOUBLE, MPI_SUM, 0, s.comm));
        double wall = bmc_now() - t0;
        if (s.rank == 0)
            bmc_log_info("read %.1f MB of betas in %.2f s (%.0f MB/s over all ranks); "
                         "%ld invalid voxel%s (0 in every trial of some session) dropped",
                         tot[0] / 1e6, wall, wall > 0 ? tot[0] / 1e6 / wall : 0.0,
                         in.n_invalid, in.n_invalid == 1 ? "" : "s");
        rc = fmri_ingest_stats(&plan, p.zscore_train, s.comm, &in, &err);
    }
    if (!rc) {
        fmri_rows_build(&plan, &in, s.size, s.rank, &rows);
        rc = check_groups_kept(&plan, &in, &rows, &err);
    }
    if (!rc) {
        double t1 = bmc_now();
        fmri_rows_average(&plan, &in, p.block_voxels, s.comm, &rows);
        double t2 = bmc_now();
        bmc_log_info("z-scored and averaged in %.2f s", t2 - t1);
        rc = fmri_write(&s, &p, &plan, &in, &rows, &err);
        if (!rc) bmc_log_info("wrote %s in %.2f s", p.out, bmc_now() - t2);
    }
    fmri_rows_free(&rows);
    fmri_ingest_free(&in);
    fmri_plan_free(&plan);
    fmri_params_free(&p);
    if (rc) bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_end(&s);
    return 0;
}
