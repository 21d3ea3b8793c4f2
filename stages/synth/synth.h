/* synth.h — the subcommands of bmc-synth (synthetic data in real formats); their random
 * numbers are bmc_rng streams (common/bmc_rng.h). Each subcommand is one file; main.c dispatches.
 * Not here: any reading of real data.
 */
#ifndef BMC_SYNTH_H
#define BMC_SYNTH_H

#include <stdint.h>

#include "bmc_rng.h"

/* Run `bmc-synth stimuli` with the arguments after the subcommand. Returns the exit status. */
int synth_stimuli_main(int argc, char **argv);
/* Run `bmc-synth clip-weights`: a seeded random CLIP ViT as .safetensors + config.json. */
int synth_clip_weights_main(int argc, char **argv);
/* Run `bmc-synth brain`: a synthetic NSD tree (betas, ROIs, design) driven by CLIP features. */
int synth_brain_main(int argc, char **argv);

#endif
