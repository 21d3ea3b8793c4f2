/* clip_weights.c — `bmc-synth clip-weights`: a seeded random CLIP ViT image tower.
 *
 * Writes Hugging Face CLIPVisionModelWithProjection weights (.safetensors, F32 or F16) and its
 * config.json. Every tensor is drawn from its own counter-based stream (seed, tensor id) with
 * the scales of the clip-tiny golden set (README §1), so attention is far from uniform and every
 * parameter matters. Rank 0 writes both files atomically; the other ranks wait and share any
 * error. Not here: the safetensors format (safetensors.c) or loading (weights.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "bmc_stage.h"
#include "synth.h"
#include "vit.h"
#include "weights.h"

static const char clip_weights_usage[] =
    "usage: bmc-synth clip-weights --config STAGE.yaml\n"
    "\n"
    "Writes a seeded random CLIP ViT image tower with Hugging Face names, plus its config.json.\n"
    "\n"
    "outputs:\n"
    "  weights            the .safetensors file (written atomically: NAME.partial, then renamed)\n"
    "  config             the config.json file (CLIPVisionConfig fields)\n"
    "params:\n"
    "  image_size         input resolution R (default 56; a multiple of patch_size)\n"
    "  patch_size         patch size P (default 14)\n"
    "  hidden_size        width W (default 64; a multiple of num_heads)\n"
    "  num_layers         transformer blocks (default 4)\n"
    "  num_heads          attention heads (default 4)\n"
    "  intermediate_size  MLP width (default 4 * hidden_size)\n"
    "  projection_dim     embedding size D (default 32)\n"
    "  seed               random seed (default 0)\n"
    "  dtype              float32 | float16 (default float32)\n";

typedef struct clip_synth_params {
    vit_config cfg;
    long long seed;
    int dtype; /* 0 float32, 1 float16 */
} clip_synth_params;

static void read_params(const bmc_stage *s, clip_synth_params *p, bmc_err *err) {
    static const bmc_param_key keys[] = {
        {"image_size", 0}, {"patch_size", 0},        {"hidden_size", 0},    {"num_layers", 0},
        {"num_heads", 0},  {"intermediate_size", 0}, {"projection_dim", 0}, {"seed", 0},
        {"dtype", 0}};
    static const char *const dtypes[] = {"float32", "float16"};
    long long v[7] = {0};
    const bmc_cfg_node *m = s->params;
    if (bmc_stage_check_params(s, keys, sizeof keys / sizeof *keys, "bmc-synth clip-weights params", err)) return;
    if (bmc_cfg_int(m, "image_size", 0, 56, 1, 4096, &v[0], err)) return;
    if (bmc_cfg_int(m, "patch_size", 0, 14, 1, 1024, &v[1], err)) return;
    if (bmc_cfg_int(m, "hidden_size", 0, 64, 1, 8192, &v[2], err)) return;
    if (bmc_cfg_int(m, "num_layers", 0, 4, 1, 256, &v[3], err)) return;
    if (bmc_cfg_int(m, "num_heads", 0, 4, 1, 1024, &v[4], err)) return;
    if (bmc_cfg_int(m, "intermediate_size", 0, 4 * v[2], 1, 65536, &v[5], err)) return;
    if (bmc_cfg_int(m, "projection_dim", 0, 32, 1, 8192, &v[6], err)) return;
    if (bmc_cfg_int(m, "seed", 0, 0, 0, (long long)1 << 53, &p->seed, err)) return;
    if (bmc_cfg_enum(m, "dtype", 0, 0, dtypes, 2, &p->dtype, err)) return;
    vit_config *c = &p->cfg;
    c->image_size = (int)v[0];
    c->patch_size = (int)v[1];
    c->hidden_size = (int)v[2];
    c->num_layers = (int)v[3];
    c->num_heads = (int)v[4];
    c->intermediate_size = (int)v[5];
    c->projection_dim = (int)v[6];
    c->num_channels = 3;
    c->layer_norm_eps = 1e-5f;
    c->quick_gelu = 1;
    char msg[256];
    if (vit_config_derive(c, msg, sizeof msg))
        bmc_cfg_error_at(m, err, "choose image_size a multiple of patch_size, hidden_size a multiple of num_heads",
                         "bmc-synth clip-weights params: %s", msg);
}

/* Tensor kinds: each (kind, layer, part) is its own random stream. */
enum { K_PATCH, K_CLASS, K_POS, K_PRE_W, K_PRE_B, K_LN1_W, K_LN1_B, K_QKV_W, K_QKV_B, K_OUT_W, K_OUT_B,
       K_LN2_W, K_LN2_B, K_FC1_W, K_FC1_B, K_FC2_W, K_FC2_B, K_POST_W, K_POST_B, K_PROJ };

/* dst[i] = mean + std · N(0, 1) from the stream of (seed, kind, layer, part). */
static void fill_normal(float *dst, size_t n, double mean, double std, uint64_t seed, int kind, int layer,
                        int part) {
    bmc_rng g;
    bmc_rng_seed(&g, seed, ((uint64_t)kind << 40) | ((uint64_t)layer << 8) | (uint64_t)part);
    for (size_t i = 0; i < n; i++) dst[i] = (float)(mean + std * bmc_rng_normal(&g));
}

/* Fill every tensor with the initialisation of the clip-tiny README (§1). */
static void init_model(vit_model *m, uint64_t seed) {
    const vit_config *c = &m->cfg;
    const size_t W = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    const size_t CPP = (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
    const double w = 1.0 / sqrt((double)W);
    fill_normal(m->patch_w, W * CPP, 0, 1.0 / sqrt((double)CPP), seed, K_PATCH, 0, 0);
    fill_normal(m->class_emb, W, 0, 0.2, seed, K_CLASS, 0, 0);
    fill_normal(m->pos_emb, (size_t)c->tokens * W, 0, 0.2, seed, K_POS, 0, 0);
    fill_normal(m->pre_ln_w, W, 1, 0.1, seed, K_PRE_W, 0, 0);
    fill_normal(m->pre_ln_b, W, 0, 0.1, seed, K_PRE_B, 0, 0);
    for (int l = 0; l < c->num_layers; l++) {
        vit_layer *L = &m->layers[l];
        fill_normal(L->ln1_w, W, 1, 0.1, seed, K_LN1_W, l, 0);
        fill_normal(L->ln1_b, W, 0, 0.1, seed, K_LN1_B, l, 0);
        for (int k = 0; k < 3; k++) { /* q, k, v */
            fill_normal(L->qkv_w + (size_t)k * W * W, W * W, 0, 1.2 * w, seed, K_QKV_W, l, k);
            fill_normal(L->qkv_b + (size_t)k * W, W, 0, 0.1, seed, K_QKV_B, l, k);
        }
        fill_normal(L->out_w, W * W, 0, w, seed, K_OUT_W, l, 0);
        fill_normal(L->out_b, W, 0, 0.05, seed, K_OUT_B, l, 0);
        fill_normal(L->ln2_w, W, 1, 0.1, seed, K_LN2_W, l, 0);
        fill_normal(L->ln2_b, W, 0, 0.1, seed, K_LN2_B, l, 0);
        fill_normal(L->fc1_w, I * W, 0, w, seed, K_FC1_W, l, 0);
        fill_normal(L->fc1_b, I, 0, 0.1, seed, K_FC1_B, l, 0);
        fill_normal(L->fc2_w, W * I, 0, 1.0 / sqrt((double)I), seed, K_FC2_W, l, 0);
        fill_normal(L->fc2_b, W, 0, 0.05, seed, K_FC2_B, l, 0);
    }
    fill_normal(m->post_ln_w, W, 1, 0.1, seed, K_POST_W, 0, 0);
    fill_normal(m->post_ln_b, W, 0, 0.1, seed, K_POST_B, 0, 0);
    fill_normal(m->proj, (size_t)c->projection_dim * W, 0, w, seed, K_PROJ, 0, 0);
}

/* Rank 0: create the folders, then write the weights and config.json. */
static int write_outputs(const clip_synth_params *p, const char *weights_path, const char *config_path,
                         bmc_err *err) {
    char *dirs[2] = {bmc_dirname(weights_path), bmc_dirname(config_path)};
    int rc = bmc_mkdir_p(dirs[0], err);
    if (!rc) rc = bmc_mkdir_p(dirs[1], err);
    free(dirs[0]);
    free(dirs[1]);
    if (rc) return rc;
    vit_model m = {0};
    m.cfg = p->cfg;
    vit_model_alloc(&m);
    init_model(&m, (uint64_t)p->seed);
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%lld", p->seed);
    const char *const meta[][2] = {{"generator", "bmc-synth clip-weights"}, {"seed", seed_text}};
    rc = clip_weights_save_hf(&m, weights_path, p->dtype ? ST_F16 : ST_F32, meta, 2, err);
    if (!rc) rc = clip_config_write_json(&m.cfg, config_path, p->dtype ? "float16" : "float32", err);
    vit_model_free(&m);
    return rc;
}

int synth_clip_weights_main(int argc, char **argv) {
    bmc_stage s;
    bmc_stage_begin(&s, argc, argv, "bmc-synth clip-weights", clip_weights_usage);
    bmc_err err = {0};
    clip_synth_params p = {0};
    static const char *const outs[] = {"weights", "config"};
    const char *weights_path = NULL, *config_path = NULL;
    if (!bmc_stage_check_names(&s, NULL, 0, outs, 2, &err)) {
        weights_path = bmc_stage_output(&s, "weights", &err);
        if (weights_path) config_path = bmc_stage_output(&s, "config", &err);
    }
    if (!err.failed) read_params(&s, &p, &err);
    bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_checked(&s);

    const vit_config *c = &p.cfg;
    bmc_log_info("writing a random CLIP ViT (image %d, patch %d, width %d, %d layers, %d heads, MLP %d, "
                 "projection %d, %s, seed %lld) to %s and %s", c->image_size, c->patch_size, c->hidden_size,
                 c->num_layers, c->num_heads, c->intermediate_size, c->projection_dim,
                 p.dtype ? "float16" : "float32", p.seed, weights_path, config_path);
    if (s.rank == 0) write_outputs(&p, weights_path, config_path, &err);
    bmc_err_exit_if_any(s.comm, &err); /* the other ranks wait here for rank 0 */
    bmc_stage_end(&s);
    return 0;
}
