/* synth.h — the subcommands of bmc-synth (synthetic data in real formats) and the seeded
 * random numbers they share. Each subcommand is one file; main.c dispatches.
 * Not here: any reading of real data.
 */
#ifndef BMC_SYNTH_H
#define BMC_SYNTH_H

#include <stdint.h>

/* Run `bmc-synth stimuli` with the arguments after the subcommand. Returns the exit status. */
int synth_stimuli_main(int argc, char **argv);
/* Run `bmc-synth clip-weights`: a seeded random CLIP ViT as .safetensors + config.json. */
int synth_clip_weights_main(int argc, char **argv);
/* Run `bmc-synth brain`: a synthetic NSD tree (betas, ROIs, design) driven by CLIP features. */
int synth_brain_main(int argc, char **argv);

/* Counter-based random numbers: the stream of (seed, id) does not depend on which rank
 * draws it, so outputs are identical for any rank count. */
typedef struct synth_rng { uint64_t state; } synth_rng;
void synth_rng_seed(synth_rng *r, uint64_t seed, uint64_t stream);
uint64_t synth_rng_u64(synth_rng *r);
double synth_rng_uniform(synth_rng *r);          /* [0, 1)            */
double synth_rng_normal(synth_rng *r);           /* N(0, 1)           */

#endif
