/* rois.h — ROI groups → voxel lists, for the plan (rank 0 only). The rules (label
 * selection, membership, voxel order) are in rois.c's header comment and docs/FORMATS.md.
 * Not here: the design, sessions and betas headers (plan.c).
 */
#ifndef BMC_FMRI_ROIS_H
#define BMC_FMRI_ROIS_H

#include "plan.h"

/* Read every ROI file the groups name (and nsdgeneral when a group needs it), check that
 * they share one grid, and fill plan->grid, plan->groups (columns into the union), plan->vox
 * and plan->n_vox; the files read are added to plan->files. *grid_file (heap) names the
 * file that set the grid, for messages. 0 or -1: missing or bad ROI files, grids that
 * differ, label names not in the .ctab, a group without voxels. */
int fmri_rois_resolve(const fmri_params *p, fmri_plan *plan, char **grid_file, bmc_err *err);

#endif
