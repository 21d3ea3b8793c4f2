/* main.c — bmc-synth: writes synthetic data in the real formats the pipeline reads, so the
 * demo and the tests need no download. Subcommands: stimuli (NSD-like image brick),
 * clip-weights (a random CLIP vision tower), brain (NSD-format fMRI from CLIP features).
 * Not here: the generators themselves (one file per subcommand).
 */
#include <stdio.h>
#include <string.h>

#include "bmc_version.h"
#include "synth.h"

static const char usage[] =
    "usage: bmc-synth SUBCOMMAND --config STAGE.yaml\n"
    "\n"
    "Writes synthetic data in the formats the pipeline reads.\n"
    "\n"
    "subcommands:\n"
    "  stimuli       procedural RGB images as an NSD-like nsd_stimuli.hdf5 (/imgBrick)\n"
    "  clip-weights  a seeded random CLIP ViT (.safetensors, Hugging Face names) + config.json\n"
    "  brain         a synthetic NSD tree (betas, ROIs, design, stimuli) for S subjects whose\n"
    "                voxels respond to the images' CLIP features\n"
    "\n"
    "Run `bmc-synth SUBCOMMAND --help` for its parameters; --version prints the version.\n";

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("bmc-synth %s (%s)\n", bmc_version(), bmc_git_commit());
        return 0;
    }
    if (!strcmp(argv[1], "stimuli")) return synth_stimuli_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "clip-weights")) return synth_clip_weights_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "brain")) return synth_brain_main(argc - 2, argv + 2);
    fprintf(stderr, "error: bmc-synth: unknown subcommand '%s'\n  hint: one of: stimuli, clip-weights, brain\n", argv[1]);
    return 2;
}
