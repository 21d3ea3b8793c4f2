/* bmc_formats.c — the table of file formats declared in bmc_formats.h.
 * Not here: the layouts themselves (docs/FORMATS.md keeps one section per row).
 */
#include "bmc_formats.h"

const bmc_format bmc_formats[BMC_FMT_COUNT] = {
    [BMC_FMT_STIMULI] = {.name = "bmc.stimuli", .version = 1,
                         .what = "uint8 images [N, H, W, 3] (bmc-synth stimuli)"},
    [BMC_FMT_GROUNDTRUTH] = {.name = "bmc.groundtruth", .version = 1,
                             .what = "the model behind a synthetic NSD tree's betas (bmc-synth brain)"},
    [BMC_FMT_CLIP] = {.name = "bmc.clip", .version = 1,
                      .what = "CLIP image features per layer and output (bmc-extract-clip)"},
    [BMC_FMT_FMRI] = {.name = "bmc.fmri", .version = 1,
                      .what = "one subject's ROI responses per image (bmc-extract-fmri)"},
    [BMC_FMT_MODEL] = {.name = "bmc.model", .version = 1,
                       .what = "one subject's ridge decoders and encoding models (bmc-train)"},
    [BMC_FMT_EVAL] = {.name = "bmc.eval", .version = 2, /* 2: per-draw images and hits */
                      .what = "identification and image scores, train × test subject (bmc-evaluate)"},
    [BMC_FMT_PREDICTIONS] = {.name = "bmc.predictions", .version = 1,
                             .what = "features predicted from fMRI, per branch (bmc-evaluate)"},
};
