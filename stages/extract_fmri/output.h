/* output.h — the bmc.fmri file (docs/FORMATS.md), written collectively and atomically.
 * Not here: computing any of its values (ingest.c, average.c).
 */
#ifndef BMC_FMRI_OUTPUT_H
#define BMC_FMRI_OUTPUT_H

#include "average.h"
#include "bmc_stage.h"
#include "ingest.h"
#include "plan.h"

/* Voxels of group g that survive the invalid-voxel drop: *kept (heap) gets their positions in
 * rows->valid, in group order; returns how many. Local. */
long fmri_group_kept(const fmri_group *g, const fmri_ingest *in, const fmri_rows *rows,
                     long **kept);

/* Collective: write params->out (via .partial and an atomic rename): every rank writes its
 * rows of every matrix; rank 0 the voxel tables; provenance lists the design, ROI and ctab
 * files and every betas file with their SHA-256. Agreed status; nothing is left on error. */
int fmri_write(bmc_stage *s, const fmri_params *p, const fmri_plan *plan,
               const fmri_ingest *in, const fmri_rows *rows, bmc_err *err);

#endif
