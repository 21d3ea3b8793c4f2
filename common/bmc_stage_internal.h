/* bmc_stage_internal.h — what bmc_stage.c needs from bmc_stage_out.c (the output side of the
 * stage driver). Private: not part of the contract in bmc_stage.h; nothing else includes it.
 */
#ifndef BMC_STAGE_INTERNAL_H
#define BMC_STAGE_INTERNAL_H

#include "bmc_stage.h"

/* Rank 0 (or --check): refuse outputs that would destroy something — an output that is an
 * input or the stage file (any spelling), an output inside an input folder or holding an
 * input, two outputs on one path or nested, an existing output or NAME.partial without
 * brainmclip's stamp. Errors at the output's position in the stage file. */
void bmc_stage_check_outputs(const bmc_stage *s, bmc_err *err);

/* Rank 0, after success: the sidecar of every non-HDF5 output that exists. */
void bmc_stage_stamp_outputs(const bmc_stage *s, bmc_err *err);

#endif
