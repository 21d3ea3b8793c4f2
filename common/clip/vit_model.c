/* vit_model.c — ViT hyperparameter checks and the single parameter block carved into named
 * tensors (one allocation, llm.c style). Not here: loading values (weights.c) or running
 * the model (vit.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_error.h"
#include "vit.h"

int vit_config_derive(vit_config *c, char *msg, size_t msg_len) {
    if (c->image_size <= 0 || c->patch_size <= 0 || c->hidden_size <= 0 || c->num_layers <= 0 ||
        c->num_heads <= 0 || c->intermediate_size <= 0 || c->projection_dim <= 0 ||
        c->num_channels <= 0) {
        snprintf(msg, msg_len, "non-positive hyperparameter (image_size %d, patch_size %d, "
                 "hidden_size %d, layers %d, heads %d, intermediate %d, projection %d, channels %d)",
                 c->image_size, c->patch_size, c->hidden_size, c->num_layers, c->num_heads,
                 c->intermediate_size, c->projection_dim, c->num_channels);
        return -1;
    }
    if (c->image_size % c->patch_size) {
        snprintf(msg, msg_len, "image_size %d is not a multiple of patch_size %d", c->image_size,
                 c->patch_size);
        return -1;
    }
    if (c->hidden_size % c->num_heads) {
        snprintf(msg, msg_len, "hidden_size %d is not a multiple of num_attention_heads %d",
                 c->hidden_size, c->num_heads);
        return -1;
    }
    if (!(c->layer_norm_eps > 0.0f)) {
        snprintf(msg, msg_len, "layer_norm_eps must be positive");
        return -1;
    }
    c->grid = c->image_size / c->patch_size;
    c->tokens = 1 + c->grid * c->grid;
    c->head_dim = c->hidden_size / c->num_heads;
    return 0;
}

/* Number of floats of every tensor, in carving order. */
static size_t count_params(const vit_config *c) {
    size_t W = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    size_t CPP = (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
    size_t per_layer = 2 * W + 3 * W * W + 3 * W + W * W + W + 2 * W + I * W + I + W * I + W;
    return W * CPP + W + (size_t)c->tokens * W + 2 * W + (size_t)c->num_layers * per_layer + 2 * W +
           (size_t)c->projection_dim * W;
}

void vit_model_alloc(vit_model *m) {
    const vit_config *c = &m->cfg;
    BMC_CHECK(c->tokens == 1 + c->grid * c->grid && c->grid > 0);
    size_t W = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    size_t CPP = (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
    m->n_params = count_params(c);
    m->params = xcalloc(m->n_params, sizeof(float));
    m->layers = xcalloc((size_t)c->num_layers, sizeof *m->layers);
    float *p = m->params;
#define CARVE(dst, n) (dst = p, p += (n))
    CARVE(m->patch_w, W * CPP);
    CARVE(m->class_emb, W);
    CARVE(m->pos_emb, (size_t)c->tokens * W);
    CARVE(m->pre_ln_w, W);
    CARVE(m->pre_ln_b, W);
    for (int l = 0; l < c->num_layers; l++) {
        vit_layer *L = &m->layers[l];
        CARVE(L->ln1_w, W);
        CARVE(L->ln1_b, W);
        CARVE(L->qkv_w, 3 * W * W);
        CARVE(L->qkv_b, 3 * W);
        CARVE(L->out_w, W * W);
        CARVE(L->out_b, W);
        CARVE(L->ln2_w, W);
        CARVE(L->ln2_b, W);
        CARVE(L->fc1_w, I * W);
        CARVE(L->fc1_b, I);
        CARVE(L->fc2_w, W * I);
        CARVE(L->fc2_b, W);
    }
    CARVE(m->post_ln_w, W);
    CARVE(m->post_ln_b, W);
    CARVE(m->proj, (size_t)c->projection_dim * W);
#undef CARVE
    BMC_CHECK((size_t)(p - m->params) == m->n_params);
}

void vit_model_free(vit_model *m) {
    free(m->params);
    free(m->layers);
    m->params = NULL;
    m->layers = NULL;
}
