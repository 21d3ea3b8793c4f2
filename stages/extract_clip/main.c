/* main.c — bmc-extract-clip: CLIP ViT features of a set of images, distributed over MPI.
 *
 * Images are split over ranks in row blocks; each rank preprocesses its images exactly as
 * CLIP does, runs the ViT in batches (BLAS threads inside) and writes its rows of every
 * requested output collectively, then flushes and marks the rows done in /done, so a killed
 * run resumes where it stopped (same fingerprint → the .partial is reopened). Output layout:
 * docs/FORMATS.md (`bmc.clip`). Not here: the model (vit.c), the weights (weights.c).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "bmc_stage.h"
#include "extract.h"
#include "image_io.h"
#include "preprocess.h"
#include "source.h"
#include "vit.h"
#include "weights.h"

static const char usage[] =
    "usage: bmc-extract-clip --config STAGE.yaml\n"
    "\n"
    "CLIP ViT image features (BrainMCLIP's CLIP-Detail and CLIP-Semantic targets) of an\n"
    "image set, computed in C and split over MPI ranks.\n"
    "\n"
    "inputs:\n"
    "  images         HDF5 file with a uint8 [N,H,W,3] dataset (NSD's nsd_stimuli.hdf5),\n"
    "                 or a folder of PNG/JPEG files (sorted by name; ids are positions)\n"
    "  weights        CLIP .safetensors (Hugging Face vision_model.* or OpenAI visual.* names)\n"
    "  config         optional config.json (default: config.json next to the weights)\n"
    "outputs:\n"
    "  features       the HDF5 file to write (format bmc.clip, see docs/FORMATS.md)\n"
    "params:\n"
    "  dataset        HDF5 dataset of the images (default imgBrick)\n"
    "  image_ids      list of ids, {start: a, stop: b}, or absent for all\n"
    "  outputs        any of detail [N,T,W], semantic [N,T,D], pooled [N,D] (the image\n"
    "                 embedding), token_embeds [N,T,D], pooler_output [N,W]\n"
    "                 (default [detail, semantic, pooled])\n"
    "  hidden_states  list of layers to store (0 = after pre-LN, k = after block k)\n"
    "  detail_layers  [first, last] inclusive layers averaged into detail\n"
    "                 (default 11..20 scaled to the model's depth: 11..20 for 24 layers)\n"
    "  dtype          float32 or float16 on disk (default float32)\n"
    "  batch_size     images per forward pass (default 8)\n"
    "  threads        BLAS threads per rank (default: OPENBLAS_NUM_THREADS, else 1)\n";

/* --check: the images of a folder source are the files the stage reads (listing errors are
 * left to the run, which reports them). */
static void declare_image_reads(const bmc_stage *s, const char *images) {
    char **files = NULL;
    size_t n = 0;
    bmc_err ignored = {0};
    if (!bmc_is_dir(images) || image_list_folder(images, &files, &n, &ignored) != 0) return;
    for (size_t k = 0; k < n; k++) bmc_stage_declare_read(s, "images", files[k]);
    image_list_free(files, n);
}

int main(int argc, char **argv) {
    bmc_stage s;
    bmc_stage_begin(&s, argc - 1, argv + 1, "bmc-extract-clip", usage);
    bmc_err err = {0};
    extract_plan plan;
    clip_source src;
    vit_model model;
    memset(&model, 0, sizeof model);

    /* Everything is validated, and agreed, before the output file is created. */
    extract_read_plan(&s, &plan, &err);
    bmc_err_exit_if_any(s.comm, &err);
    if (s.checking) declare_image_reads(&s, plan.images);
    bmc_stage_checked(&s);
    /* Every rank loads the weights (they are read-only and small next to activations). */
    clip_weights_load(&model, plan.weights, plan.weights_config, &err);
    if (!err.failed) extract_resolve_outputs(&plan, &model.cfg, &err);
    bmc_err_exit_if_any(s.comm, &err);
    if (clip_source_open(&src, s.comm, plan.images, plan.dataset, plan.ids_node, &err))
        bmc_err_exit_if_any(s.comm, &err);
    if (plan.threads > 0) openblas_set_num_threads(plan.threads);
    bmc_log_info("%ld images from %s; model %dx%d/%d, width %d, %d layers, %d heads, "
                 "projection %d; detail = mean of layers %d..%d; batch %d, %d BLAS thread%s/rank",
                 src.n, plan.images, model.cfg.image_size, model.cfg.image_size,
                 model.cfg.patch_size, model.cfg.hidden_size, model.cfg.num_layers,
                 model.cfg.num_heads, model.cfg.projection_dim, plan.detail_first,
                 plan.detail_last, plan.batch_size, openblas_get_num_threads(),
                 openblas_get_num_threads() == 1 ? "" : "s");

    int rc = extract_run(&s, &plan, &model, &src, &err);
    clip_source_close(&src);
    vit_model_free(&model);
    extract_free_plan(&plan);
    if (rc) bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_end(&s);
    return 0;
}
